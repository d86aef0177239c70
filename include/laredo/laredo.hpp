#pragma once

// Umbrella header: the core API, the engine and the in-memory targets. The test source is a
// library of its own (`laredo::testsource`, header `laredo/testsource/test_source.hpp`).

#include "laredo/change_event.hpp"
#include "laredo/column_definition.hpp"
#include "laredo/dead_letter.hpp"
#include "laredo/engine.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/pipeline_options.hpp"
#include "laredo/position.hpp"
#include "laredo/row.hpp"
#include "laredo/source_config.hpp"
#include "laredo/source_status.hpp"
#include "laredo/sync_source.hpp"
#include "laredo/sync_target.hpp"
#include "laredo/table_identifier.hpp"
#include "laredo/validation_error.hpp"
#include "laredo/value.hpp"
