/* budget.h - account budgets: money per day, week or month.
 *
 * An account listed under `accounts:` with a budget may spend that much
 * per period (in the units of price_per_hour).  Spend is the cost of its
 * jobs that ended in the current period (read from SQLite when a period
 * starts) plus what its running jobs have cost so far.  A job of an
 * account at or over its budget stays PENDING with reason
 * AccountBudgetExceeded; running jobs are never killed for it.
 */
#ifndef CTLD_BUDGET_H
#define CTLD_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct ctld;
struct job;
struct sl_account;

/* Start of the period holding `now` ("day", "week", "month"; local time). */
int64_t budget_period_start(const char *period, int64_t now);
/* Before a scheduling pass: refresh every budgeted account's spend. */
void budget_pass_begin(struct ctld *c, int64_t now);
/* Is the job's account at or over its budget (as of budget_pass_begin)? */
bool budget_exceeded(struct ctld *c, const struct job *job);
/* A job's cost grew by `cost` (it ended, or was requeued). */
void budget_charge(struct ctld *c, const char *account, double cost);
/* Spend so far in the current period of a budgeted account; -1 if it has no budget. */
double budget_spent(struct ctld *c, const char *account);
/* What a running job has cost so far in its current run. */
double budget_running_cost(const struct job *job, int64_t now);
void budget_free(struct ctld *c);

#endif
