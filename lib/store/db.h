/* db.h - SQLite store: open in WAL mode, versioned migrations, one
 * explicit transaction at a time (the ctld's group commit).
 *
 * Schema versions live in PRAGMA user_version; migrations[i] takes the
 * schema from version i to i+1 and runs inside one transaction, so a
 * crash mid-migration leaves the old schema intact.
 */
#ifndef SL_DB_H
#define SL_DB_H

#include <stdbool.h>

#include <sqlite3.h>

#include "util/error.h"

struct sl_db;

/* Open (creating if needed) the database at path and migrate it to
 * version nmigrations.  A database newer than the code is refused. */
struct sl_db *sl_db_open(const char *path, const char *const *migrations, int nmigrations,
                         bool sync_full, sl_error_t *err);
void sl_db_close(struct sl_db *db);
sqlite3 *sl_db_handle(struct sl_db *db);
int sl_db_version(struct sl_db *db);

/* Prepare a statement once; the db owns it and finalizes it at close.
 * Use sl_db_reset() after each step. */
sqlite3_stmt *sl_db_prepare(struct sl_db *db, const char *sql, sl_error_t *err);
void sl_db_reset(sqlite3_stmt *st);

int sl_db_exec(struct sl_db *db, const char *sql, sl_error_t *err);

/* Group commit: sl_db_begin() opens a transaction unless one is open;
 * sl_db_commit() commits it (no-op when none is open). */
int sl_db_begin(struct sl_db *db, sl_error_t *err);
bool sl_db_in_txn(struct sl_db *db);
int sl_db_commit(struct sl_db *db, sl_error_t *err);
void sl_db_rollback(struct sl_db *db);

/* Format the last SQLite error with a call-site prefix into err. */
int sl_db_error(struct sl_db *db, sl_error_t *err, const char *what);

#endif
