// The bounded hand-off the sources use between baseline reader threads and the delivering thread.
#include "shared/handoff_queue.hpp"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <thread>

namespace {

using laredo::shared::HandoffQueue;

TEST(HandoffQueue, DeliversInOrderAndEndsWhenEveryProducerIsDone) {
  HandoffQueue<int> queue(2);
  queue.AddProducer();
  std::jthread producer([&] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(queue.Push(i));
    queue.ProducerDone(nullptr);
  });
  int item = -1;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(queue.Pop(item, std::stop_token()));
    EXPECT_EQ(item, i);
  }
  EXPECT_FALSE(queue.Pop(item, std::stop_token()));
  EXPECT_EQ(queue.error(), nullptr);
}

TEST(HandoffQueue, CloseWakesAProducerBlockedOnTheFullQueue) {
  HandoffQueue<int> queue(1);
  queue.AddProducer();
  ASSERT_TRUE(queue.Push(1));  // full now
  auto blocked = std::async(std::launch::async, [&] { return queue.Push(2); });
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  queue.Close();
  EXPECT_FALSE(blocked.get());  // woke, and told to stop
  EXPECT_FALSE(queue.Push(3));
  int item = 0;
  EXPECT_FALSE(queue.Pop(item, std::stop_token()));
}

TEST(HandoffQueue, AProducerFailureEndsTheHandOffWithItsError) {
  HandoffQueue<int> queue(4);
  queue.AddProducer();
  queue.AddProducer();
  ASSERT_TRUE(queue.Push(1));
  queue.ProducerDone(std::make_exception_ptr(std::runtime_error("object corrupt")));
  int item = 0;
  EXPECT_FALSE(queue.Pop(item, std::stop_token()));  // the queued item is not delivered
  ASSERT_NE(queue.error(), nullptr);
  EXPECT_THROW(std::rethrow_exception(queue.error()), std::runtime_error);
  EXPECT_FALSE(queue.Push(2));  // the other producer is told to stop
  queue.ProducerDone(std::make_exception_ptr(std::logic_error("later")));
  EXPECT_THROW(std::rethrow_exception(queue.error()), std::runtime_error);  // the first one kept
}

TEST(HandoffQueue, PopReturnsWhenStopIsRequested) {
  HandoffQueue<int> queue(4);
  queue.AddProducer();  // never produces
  std::stop_source stop;
  auto waiting = std::async(std::launch::async, [&] {
    int item = 0;
    return queue.Pop(item, stop.get_token());
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  stop.request_stop();
  EXPECT_FALSE(waiting.get());
}

}  // namespace
