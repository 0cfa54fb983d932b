/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-core-private.h"
#endif

#include "tether-enums.h"
#include "tether-event-private.h"
#include "tether-job-private.h"
#include "tether-lineage-private.h"
#include "tether-post-private.h"
#include "tether-queue-private.h"
#include "tether-stats-private.h"

G_BEGIN_DECLS

/* The monotonic time @usec from now, saturated: G_MAXINT64 means never. */
static inline gint64
tether_time_after (gint64 usec)
{
  gint64 now = g_get_monotonic_time ();

  return usec > G_MAXINT64 - now ? G_MAXINT64 : now + usec;
}

typedef enum
{
  CORE_STOPPED,
  CORE_RUNNING,
  CORE_STOPPING,
} CoreState;

/* What the manager object and its thread share; the thread keeps a
 * reference, so that dropping the manager on its own thread never has to
 * join it. Fields are grouped by who writes them, one cache line each, so
 * that submitters and the manager's thread do not steal lines from each
 * other on every job. */
struct _TetherCore
{
  /* Submitters: the queue's tail is the first line of the queue. */
  TetherQueue      queue;
  gsize            n_accepted TETHER_CACHELINE_ALIGNED; /* atomic: queue submissions accepted */

  /* The manager's thread. */
  gsize            n_taken TETHER_CACHELINE_ALIGNED;    /* atomic, one writer: taken to start */
  gsize            posts_ran;     /* atomic, one writer */
  gsize            posts_dropped; /* atomic, one writer */
  guint            post_running;  /* atomic, one writer */
  TetherWork      *spare_work;    /* a completion handle to reuse */
  gboolean         spun_out;      /* the last dispatch spun for its whole loop spin */
  TetherPostPool   posts;         /* .full is shared, read on refills only */

  /* Read on every submission, written rarely. */
  int              closed TETHER_CACHELINE_ALIGNED;     /* atomic: not RUNNING */
  int              sleeping;     /* atomic: CORE_AWAKE, _SLEEPING, _SPINNING or _GONE */
  int              wakers;       /* atomic: threads that may be touching the context */
  int              poke;         /* atomic: look at the stop state even if the queue is empty */
  int              cancelling;   /* atomic: a CANCEL stop began; start nothing queued */
  int              debug_flags;  /* atomic TetherDebugFlags */
  gssize           slow_threshold; /* atomic, usec (at most G_MAXSSIZE: see the setter) */
  int              wait_spin;    /* atomic, usec (at most a second) */
  int              loop_spin;    /* atomic, usec (at most a second) */
  gboolean         spin_poll;    /* manager's thread: core_poll() is the context's poll function */

  gatomicrefcount  ref_count TETHER_CACHELINE_ALIGNED;
  char            *id;
  char            *label;        /* the id as messages quote it */
  GMainContext    *context;      /* core lock to change; NULL while stopped, unless kept */
  GMainLoop       *loop;
  GSource         *source;
  gboolean         context_kept; /* core lock: handed out, so it lives as long as the core */
  GWeakRef         manager;

  /* Its own line: submitters of futures and the manager's thread both take
   * it for every job, and the reference count above is touched by every
   * job's creation and end. */
  GMutex           mutex TETHER_CACHELINE_ALIGNED;
  GCond            cond;
  CoreState        state;
  TetherStopMode   stop_mode;
  guint            generation;   /* counts starts: which run a stopper waits for */
  guint            max_pending;  /* atomic; 0: unbounded */
  gint64           submit_timeout; /* usec a submitter waits for room; -1: no limit */
  guint            room_waiters; /* atomic: submitters blocked waiting for room */
  GCond            room_cond;
  TetherCore      *waiting_on;   /* wait_graph_lock: whose work or stop this thread blocks on */
  gboolean         waiting_on_stop; /* wait_graph_lock: for its thread to exit, not its work */
  gboolean         waiting_for_room; /* wait_graph_lock: for room in its queue */
  TetherEvent     *wait_event;   /* wait_graph_lock: the future's event it sleeps on, if any */
  GPtrArray       *async_waits;  /* wait_graph_lock: cores, once per pending wait_async() made here */
  gboolean         detached;     /* the last unref let the running thread go unjoined */
  char            *task_type;    /* written only while closed */
  GThread         *thread;       /* not yet joined */
  TetherLineage   *starter;      /* memory ref: the lineage the thread descends from */
  GQueue           live;         /* futures, async results, timers: accepted, not retired */
  GSList          *exit_funcs;   /* TetherExitFunc: run when this run's thread ends */
  gboolean         exit_closed;  /* the thread is past its exit funcs: add none */

  /* Timers wait in a heap, earliest deadline first, behind one source. */
  GMutex           timers_lock;
  GPtrArray       *timers;       /* timers_lock: TetherJob, a binary min-heap */
  guint64          timer_seq;    /* timers_lock */
  GSource         *timer_source; /* timers_lock; made with the first timer */
  GList            fork_link;    /* in tether-fork.c's list of cores */

  TetherStats      stats;
};

TetherCore *tether_core_new            (const char     *id);
TetherCore *tether_core_ref            (TetherCore     *core);
void        tether_core_unref          (TetherCore     *core);
const char *tether_core_get_id         (TetherCore     *core);
const char *tether_core_get_label      (TetherCore     *core);
char       *tether_core_dup_task_type  (TetherCore     *core);
GMainContext *tether_core_get_context  (TetherCore     *core);
gboolean    tether_core_is_current     (TetherCore     *core);
TetherCore *tether_core_get_current    (void);
gboolean    tether_core_start          (TetherCore     *core,
                                        const char     *task_type,
                                        GError        **error);
gboolean    tether_core_ensure_started (TetherCore     *core,
                                        const char     *task_type,
                                        gboolean       *started,
                                        GError        **error);
gboolean    tether_core_request_stop   (TetherCore     *core,
                                        TetherStopMode  mode,
                                        const guint    *only_generation,
                                        guint          *generation,
                                        GPtrArray     **live,
                                        gsize           posts[2]);
gboolean    tether_core_wait_stopped   (TetherCore     *core,
                                        guint           generation,
                                        gint64          deadline);
gboolean    tether_core_accept         (TetherCore     *core,
                                        TetherJob      *job,
                                        const char     *task_type,
                                        GCancellable   *cancellable,
                                        gint64          ready_time,
                                        GError        **error);
TetherJob  *tether_core_hold           (TetherCore     *core,
                                        GError        **error);
gboolean    tether_core_post           (TetherCore     *core,
                                        const char     *task_type,
                                        TetherFunc      func,
                                        gpointer        func_data,
                                        GDestroyNotify  func_data_destroy,
                                        GError        **error);
void        tether_core_note_rejected  (TetherCore     *core);
void        tether_core_note_ended     (TetherCore     *core,
                                        TetherJob      *job,
                                        const GError   *error,
                                        gboolean        was_running);
guint       tether_core_get_n_pending  (TetherCore     *core);
GVariant   *tether_core_dup_stats      (TetherCore     *core);
void        tether_core_wake_room_waiters (TetherCore  *core);
void        tether_core_schedule_retire (TetherCore    *core,
                                         TetherJob     *job);
void        tether_core_wake_timer     (TetherCore     *core,
                                        TetherJob      *job);
gboolean    tether_core_begin_wait     (TetherCore     *target,
                                        TetherEvent    *event,
                                        char          **cycle);
gboolean    tether_core_begin_stop_wait (TetherCore    *target,
                                         char         **cycle);
gboolean    tether_core_begin_room_wait (TetherCore    *target,
                                         char         **cycle);
void        tether_core_end_wait       (void);
gboolean    tether_core_begin_async_wait (TetherCore   *target,
                                          TetherCore  **waiter,
                                          char        **cycle);
gboolean    tether_core_is_waiting_on  (TetherCore     *waiter,
                                        TetherCore     *target);
void        tether_core_end_async_wait (TetherCore     *waiter,
                                        TetherCore     *target);
gboolean    tether_core_wait_cancelled (void);
void        tether_core_detach         (TetherCore     *core);
gboolean    tether_core_add_exit_func  (TetherCore     *core,
                                        TetherFunc      func,
                                        gpointer        func_data,
                                        GDestroyNotify  func_data_destroy,
                                        GError        **error);
void        tether_core_lock_statics   (void);
void        tether_core_unlock_statics (void);
void        tether_core_reset_statics_in_child (void);
gboolean    tether_core_reset_in_child (TetherCore     *core);

G_END_DECLS
