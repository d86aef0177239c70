#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/pg/source.hpp"
#include "laredo/table_identifier.hpp"
#include "laredo/validation_error.hpp"
#include "pg_connection.hpp"

namespace laredo::pg {

/// What `SyncPublication` found.
struct PublicationSync {
  /// E.g. a publication another consumer manages.
  std::vector<ValidationError> problems;
  /// Configured tables this consumer had added and someone removed since: the slot did not
  /// decode their changes meanwhile, so resuming would miss them.
  std::vector<TableIdentifier> restored;
};

/// Makes a managed publication publish the configured tables, as its one consumer.
///
/// The publication's COMMENT records which consumer manages it and which tables that consumer
/// added. A publication that does not exist is created (FOR TABLE the tables, with
/// publish_via_partition_root so that a partitioned table's changes arrive under its own name).
/// One this consumer manages gets publish_via_partition_root, the missing tables added, the tables
/// it added earlier and no longer wants dropped, and the column lists and row filters of its tables
/// applied again. A publication created by someone else only gets the missing tables added: tables
/// this consumer did not add are never dropped or changed. A publication another consumer manages
/// is left alone and reported, as is a table with column list or row filter that someone else
/// published. A FOR ALL TABLES publication is left alone. One transaction.
PublicationSync SyncPublication(PgConnection& conn, std::string_view publication,
                                std::string_view consumer,
                                const std::vector<TableIdentifier>& tables,
                                const std::map<TableIdentifier, TableOptions>& options);

/// The tables of `tables` that `publication` does not publish (every one when it does not exist;
/// none for FOR ALL TABLES). Simple protocol only, so it runs on a replication connection too.
std::vector<TableIdentifier> TablesMissingFrom(PgConnection& conn, std::string_view publication,
                                               const std::vector<TableIdentifier>& tables);

/// "a.t, b.u", for messages.
std::string TableList(const std::vector<TableIdentifier>& tables);

/// The partitioned tables of `tables` whose changes `publication` sends under their partitions'
/// names (it lacks publish_via_partition_root), where the source would not recognise them.
std::vector<TableIdentifier> PartitionedTablesPublishedAsLeaves(
    PgConnection& conn, std::string_view publication, const std::vector<TableIdentifier>& tables);

/// Why the stream would not carry the changes of `tables` through `publication`: a table it does
/// not publish, or a partitioned one it publishes under its partitions' names. Empty when it
/// carries them all. `managed`: the source adds missing tables itself (no hint to do it by hand).
std::vector<ValidationError> PublicationProblems(PgConnection& conn, std::string_view publication,
                                                 const std::vector<TableIdentifier>& tables,
                                                 bool managed);

}  // namespace laredo::pg
