/* db.c - see db.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

struct sl_db {
    sqlite3 *h;
    sqlite3_stmt **stmts; /* prepared once, finalized at close */
    int nstmts;
    bool in_txn;
};

int sl_db_error(struct sl_db *db, sl_error_t *err, const char *what)
{
    errno = EIO;
    return errprintf(err, "%s: %s", what, db && db->h ? sqlite3_errmsg(db->h) : "no database");
}

int sl_db_exec(struct sl_db *db, const char *sql, sl_error_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        errprintf(err, "sqlite: %s (in: %.60s)", msg ? msg : "error", sql);
        sqlite3_free(msg);
        errno = EIO;
        return -1;
    }
    return 0;
}

int sl_db_version(struct sl_db *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(struct sl_db *db, const char *const *migrations, int n, sl_error_t *err)
{
    int v = sl_db_version(db);
    if (v < 0)
        return sl_db_error(db, err, "reading schema version");
    if (v > n)
        return errprintf(err, "database schema version %d is newer than this program (%d)", v, n);
    for (; v < n; v++) {
        char pragma[64];
        if (sl_db_exec(db, "BEGIN IMMEDIATE", err) < 0)
            return -1;
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (sl_db_exec(db, migrations[v], err) < 0 || sl_db_exec(db, pragma, err) < 0) {
            sl_db_exec(db, "ROLLBACK", NULL);
            return -1;
        }
        if (sl_db_exec(db, "COMMIT", err) < 0)
            return -1;
    }
    return 0;
}

struct sl_db *sl_db_open(const char *path, const char *const *migrations, int nmigrations,
                         bool sync_full, sl_error_t *err)
{
    struct sl_db *db = calloc(1, sizeof(*db));
    if (!db) {
        errprintf(err, "out of memory");
        return NULL;
    }
    /* NOMUTEX: a connection is used by one thread (the ctld's loop), so
     * SQLite need not lock around every call (a mutex pair per column read
     * was 6% of loading a million jobs) */
    if (sqlite3_open_v2(path, &db->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) !=
        SQLITE_OK) {
        sl_db_error(db, err, path);
        goto error;
    }
    sqlite3_busy_timeout(db->h, 5000);
    if (sl_db_exec(db, "PRAGMA journal_mode=WAL", err) < 0 ||
        sl_db_exec(db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                   err) < 0 ||
        sl_db_exec(db, "PRAGMA foreign_keys=ON", err) < 0)
        goto error;
    if (migrate(db, migrations, nmigrations, err) < 0)
        goto error;
    return db;
error:
    sl_db_close(db);
    return NULL;
}

void sl_db_close(struct sl_db *db)
{
    if (!db)
        return;
    int saved = errno;
    for (int i = 0; i < db->nstmts; i++)
        sqlite3_finalize(db->stmts[i]);
    free(db->stmts);
    if (db->in_txn)
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db->h);
    free(db);
    errno = saved;
}

sqlite3 *sl_db_handle(struct sl_db *db)
{
    return db->h;
}

sqlite3_stmt *sl_db_prepare(struct sl_db *db, const char *sql, sl_error_t *err)
{
    sqlite3_stmt *st;
    sqlite3_stmt **n;
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sl_db_error(db, err, "prepare");
        return NULL;
    }
    if (!(n = realloc(db->stmts, sizeof(*n) * (size_t)(db->nstmts + 1)))) {
        sqlite3_finalize(st);
        errprintf(err, "out of memory");
        return NULL;
    }
    db->stmts = n;
    db->stmts[db->nstmts++] = st;
    return st;
}

void sl_db_reset(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int sl_db_begin(struct sl_db *db, sl_error_t *err)
{
    if (db->in_txn)
        return 0;
    if (sl_db_exec(db, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    db->in_txn = true;
    return 0;
}

bool sl_db_in_txn(struct sl_db *db)
{
    return db->in_txn;
}

int sl_db_commit(struct sl_db *db, sl_error_t *err)
{
    if (!db->in_txn)
        return 0;
    if (sl_db_exec(db, "COMMIT", err) < 0) {
        sl_db_rollback(db);
        return -1;
    }
    db->in_txn = false;
    return 0;
}

void sl_db_rollback(struct sl_db *db)
{
    if (db->in_txn) {
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        db->in_txn = false;
    }
}
