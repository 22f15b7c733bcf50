/* nexd's loop: the one owner of the agent's mutable state, on the main
 * thread. It takes the workers' events, folds each into the model
 * (model.h), plans with pure functions (desired_build, converge_plan) and
 * is the only code that applies changes: WireGuard through the driver, the
 * addresses and routes (netlink), the exit-node client's and the exit
 * node's nftables, rules and sysctls. It tells the workers only what they
 * need (report_want, the re-dials, discovery_attach) and publishes the
 * status board the control socket reads. Nothing calls back into it. */
#ifndef NEXD_LOOP_H
#define NEXD_LOOP_H

#include <stdatomic.h>
#include <stddef.h>

#include "nexd/apisync.h"
#include "nexd/discovery.h"
#include "nexd/events.h"
#include "nexd/options.h"
#include "nexd/relay.h"
#include "nexd/report.h"
#include "nexd/state.h"
#include "nexd/status.h"
#include "nexd/subscription.h"
#include "nexd/wgdrv.h"

struct loop_config {
	const struct nexd_options *opt;
	const struct nexd_state *state;  /* keys and directory (read only) */
	const struct wg_driver *drv;
	struct subscription sub;         /* as loaded */
	struct status_board *board;
	struct event_queue *q;
	const atomic_int *stopping;
	int stop_fd;
	/* the workers, for *_want, *_redial and attach */
	struct apisync *apisync;
	struct report *report;
	struct discovery *discovery;
	struct relay *relay;
};

struct loop;
/* 0, or -errno with a message in err. */
int loop_new(struct loop **out, const struct loop_config *cfg, char *err, size_t errlen);
/* The workers, started after the loop (before loop_run). */
void loop_attach_workers(struct loop *l, struct apisync *apisync, struct report *report, struct discovery *discovery,
			 struct relay *relay);
/* Runs until the agent stops (the stop flag, or a fatal event); returns
 * the process exit status. */
int loop_run(struct loop *l);
/* Removes everything the loop installed, in the mirror order, then frees. */
void loop_free(struct loop *l);

#endif
