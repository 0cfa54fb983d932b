/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-future-private.h"
#include "tether-gjs-private.h"
#include "tether-job-private.h"
#include "tether-i18n-private.h"
#include "tether-call-private.h"
#include "tether-debug-private.h"
#include "tether-enum-types.h"
#include "tether-pool-private.h"
#include "tether-recycler-private.h"
#include "tether-pool.h"

/**
 * TetherPool:
 *
 * A fixed number of loop threads behind one queue: N
 * [class@Tether.LoopManager]s, each a thread with its own
 * [struct@GLib.MainContext], that take work from a queue they share.
 *
 * A manager is one thread with one queue, right for a domain that must stay
 * serial (one connection, one cache, one GTK-facing model). A pool is for
 * independent jobs: queued work goes to whichever thread is idle, in FIFO
 * order, and a long job never holds up queued work while another thread of
 * the pool is idle, because a thread is given a job only when it has none.
 *
 * ```c
 * g_autoptr(TetherPool) pool = tether_pool_new ("hashing", 4);
 * g_autoptr(TetherFuture) future = NULL;
 *
 * if (!tether_pool_start (pool, NULL, &error))
 *   return FALSE;
 * future = tether_pool_submit (pool, NULL, hash_file_work, g_strdup (path), g_free,
 *                              cancellable, &error);
 * ...
 * tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
 * ```
 *
 * Inside work, the thread is a manager's thread like any other:
 * [func@Tether.LoopManager.ref_current] returns that thread's manager, its
 * context is the thread-default one (so GIO calls started there complete
 * there), and work that must follow up on the same thread (the callback of
 * such a GIO call) is submitted to that manager directly.
 *
 * The size is fixed when the pool is made: elastic sizing (threads retiring
 * after an idle timeout) would make "the thread this GIO call completes on"
 * disappear under work that targets it. A blocking wait, on a pool thread,
 * for a future of the same pool is refused with %TETHER_ERROR_WOULD_DEADLOCK
 * when no other thread of the pool could ever run the work: when every other
 * thread is itself blocked in such a wait, or the wait would close a cycle of
 * pool threads waiting on each other's running work. Waits that go through
 * other managers are not followed (see [method@Tether.Future.wait]).
 *
 * Timers ([method@Tether.Pool.submit_after]) wait on a thread of the
 * pool's own and join the queue when due; a full queue can make submitters
 * wait for room ([property@Tether.Pool:submit-timeout]); the registry names
 * pools as it names managers ([func@Tether.Pool.get_or_create]), and
 * [func@Tether.Pool.ref_current] finds the pool from work running on it.
 *
 * Every accepted submission ends exactly once: it runs, fails, or ends
 * cancelled (a CANCEL stop, its cancellable, [method@Tether.Future.cancel]).
 *
 * Since: 1.0
 */

typedef enum
{
  ITEM_TIMER,     /* a timer not yet due: on the pool's timer thread */
  ITEM_QUEUED,    /* in the pool's queue */
  ITEM_ASSIGNED,  /* handed to a thread's manager */
  ITEM_DONE,
} ItemState;

typedef struct _PoolItem PoolItem;

struct _PoolItem
{
  TetherNode       node;           /* links it in the inbox, or while spare; first,
                                    * for TetherRecycler */
  gatomicrefcount  ref_count;
  TetherPool      *pool;           /* held through TetherPool.n_live once accepted */
  gboolean         counted;        /* accepted: counted in the pool's n_live */
  char            *task_type;
  TetherWorkFunc   func;           /* a submission */
  TetherFunc       post_func;      /* or a post */
  gpointer         func_data;
  GDestroyNotify   func_data_destroy;  /* atomic: taken by item_release_data() */
  GMainContext    *home;           /* where func_data_destroy runs, if not where it is taken */
  GCancellable    *cancellable;    /* the caller's */
  gulong           cancel_id;
  TetherFuture    *future;         /* the caller's; a reference until the outcome is in */
  /* Pool lock: */
  ItemState        state;
  TetherFuture    *inner;          /* the thread's manager's future, from assignment to its end */
  TetherFuture    *timer;          /* the timer thread's future, while ITEM_TIMER */
  guint            worker;         /* the thread it was handed to */
  gboolean         running;        /* its function runs on that thread now */
  gboolean         cancel_requested;
  GList            link;           /* in the queue, while ITEM_QUEUED and not in the inbox */
  int              started;        /* atomic: its function was called */
  int              returned;       /* atomic: its function has returned */
  gboolean         is_timer;       /* joins the queue at @ready_time */
  gint64           ready_time;
  gboolean         javascript;     /* a GJS function: refused */
};

/* The pool's atomics, each group on cache lines of its own, so that a
 * submission does not wait for a line that a pool thread wrote for an item
 * it took (on a VM, a line moving between cores costs about as much as the
 * whole submission). */
typedef struct
{
  /* Every item queued passes through the inbox, a lock-free stack of
   * items that any thread pushes to (pool_enqueue()) and a holder of the
   * pool's lock empties whole into TetherPool:queue (flush_inbox_locked()).
   * The newest item is on top. Submitters write this line and nothing the
   * pool's threads write per item, and those threads touch it once per
   * batch: a queue whose consumer takes items one at a time moves a cache
   * line between cores for every push. */
  TetherNode      *inbox;
  /* Written by stops and settings, read by every submission. */
  int              open TETHER_CACHELINE_ALIGNED;  /* admission needs no lock */
  int              n_admitting;    /* submitters that saw @open and have not pushed */
  int              running;        /* TetherPool:running, for refusals without the lock */
  /* Written when a thread goes idle or busy, read by every submission
   * (pool_pump()). */
  int              n_idle TETHER_CACHELINE_ALIGNED;  /* and under the lock */
  int              spinning;       /* a thread watches the inbox for posts (post_run()) */
  /* Accepted items not yet freed. While there are any, the pool holds a
   * reference to itself: queued work keeps the pool (its last unref then
   * drains in the background), at one atomic add per item instead of a
   * GObject reference each. Submitters add one each; threads take back
   * what they freed once per batch. */
  int              n_live TETHER_CACHELINE_ALIGNED;
  /* Freed items, back to submitters. */
  TetherRecycler   spare_items;
} PoolHot;

typedef struct
{
  TetherLoopManager *manager;
  gboolean           busy;         /* has a job of the pool */
  PoolItem          *waiting_on;   /* blocked in a wait for this item, or NULL */
  gboolean           waiting_room; /* blocked in a submission waiting for room */
} Worker;

struct _TetherPool
{
  GObject         parent_instance;

  /* Read by every submission, written rarely: apart from the lines the
   * pool's threads write for each item (see also PoolHot). */
  char           *id;
  guint           n_threads;
  int             post_spin;       /* atomic: TetherPool:post-spin, microseconds */
  char           *task_type;       /* lock; stable while PoolHot:open */
  Worker         *workers;         /* n_threads, while started */
  PoolHot        *hot;
  int             debug_flags;     /* atomic: TetherDebugFlags, also set on the threads */
  guint           max_pending;     /* lock; 0: no bound */
  gint64          submit_timeout;  /* lock; 0: refuse at once, -1: no limit */
  gint64          slow_threshold;  /* lock: also set on the threads */

  char            padding[TETHER_CACHELINE];

  GMutex          lock;
  GCond           cond;            /* a thread went idle, or a stop ended */
  GCond           room;            /* an item left the queue, or a stop began */
  guint           n_room_waiters;  /* lock: submissions waiting on @room */
  TetherLoopManager *timers;       /* lock: holds timers not yet due; made at the first */
  gboolean        running;         /* accepting work */
  gboolean        started;         /* threads exist */
  guint           n_stopping;      /* stop() calls in progress */
  GQueue          queue;           /* PoolItem, FIFO */
  guint64         n_ended_queued;  /* ended in the queue, for dup_stats() */
  gsize           n_refused;       /* atomic: refused submissions, for dup_stats() */
  int             n_ended_ran;     /* atomic: ended with their own outcome (stop_within()) */
  int             n_ended_cancelled; /* atomic: ended cancelled, or dropped unrun */
};

enum {
  PROP_0,
  PROP_ID,
  PROP_N_THREADS,
  PROP_MAX_PENDING,
  PROP_SUBMIT_TIMEOUT,
  PROP_DEBUG_FLAGS,
  PROP_SLOW_THRESHOLD,
  PROP_POST_SPIN,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];

static void tether_pool_executor_init (TetherExecutorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TetherPool, tether_pool, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TETHER_TYPE_EXECUTOR,
                                                      tether_pool_executor_init))

static void pool_pump (TetherPool *self);

/* Any thread, lock held or not: queues @item, whole once this returns.
 * Pushing only with a compare-and-exchange, and emptying only with an
 * exchange, leaves no ABA to fear: nobody follows a pointer read before
 * the node may have been reused. */
static inline void
pool_enqueue (TetherPool *self,
              PoolItem   *item)
{
  TetherNode *top;

  do
    {
      top = g_atomic_pointer_get (&self->hot->inbox);
      item->node.next = top;
    }
  while (!g_atomic_pointer_compare_and_exchange (&self->hot->inbox, top, &item->node));
}

/* Pool lock held: moves what the inbox holds to the queue, oldest first.
 * Every reader of the queue calls this first, so that under the lock the
 * queue holds everything queued so far. */
static void
flush_inbox_locked (TetherPool *self)
{
  GList *before = self->queue.tail;

  if (g_atomic_pointer_get (&self->hot->inbox) == NULL)
    return;
  /* Newest first: each goes in front of the one pushed after it. */
  for (TetherNode *node = g_atomic_pointer_exchange (&self->hot->inbox, NULL);
       node != NULL;
       node = node->next)
    g_queue_insert_after_link (&self->queue, before, &((PoolItem *) node)->link);
}

/* Pool lock held, before taking the queue's head: the inbox is emptied
 * only once the queue is, since everything in it came after what the queue
 * holds. Emptying it moves its cache line away from the submitters, so
 * fewer, larger takes leave them more pushes at home. */
static inline void
take_inbox_locked (TetherPool *self)
{
  if (g_queue_is_empty (&self->queue))
    flush_inbox_locked (self);
}

/* Pool lock held: whether submissions may skip the lock. They may while
 * the pool runs with no bound on its queue: then nothing about admitting
 * an item needs the lock but the task type, which does not change while
 * the pool runs. */
static void
update_open_locked (TetherPool *self)
{
  g_atomic_int_set (&self->hot->running, self->running);
  g_atomic_int_set (&self->hot->open, self->running && self->max_pending == 0);
}

/* Pool lock held: the pool accepts work, or refuses it from now on. */
static void
set_running_locked (TetherPool *self,
                    gboolean    running)
{
  self->running = running;
  update_open_locked (self);
}

/* The pool lock, taken by every thread for every post it takes (and by
 * submitters when the pool is not open, see pool_accept_open()): under a
 * flood they want it for a few dozen nanoseconds at a time, and a futex
 * sleep costs microseconds on a VM. A short spin on trylock first keeps
 * the lock's waits off the kernel. */
static inline void
pool_lock (TetherPool *self)
{
  for (guint i = 0; i < 100; i++)
    if (g_mutex_trylock (&self->lock))
      return;
  g_mutex_lock (&self->lock);
}
static gboolean current_worker (TetherPool *self, guint *index);
static void item_unref (gpointer data);
static gboolean pool_stop_full (TetherPool *self, TetherStopMode mode, guint last, GTask *task);
static TetherFuture *pool_submit_item (TetherPool *self, PoolItem *item, GError **error);

/* Items */

static PoolItem *
item_ref (PoolItem *item)
{
  g_atomic_ref_count_inc (&item->ref_count);
  return item;
}

/* Here, whatever the thread. */
static void
item_release_data_now (PoolItem *item)
{
  GDestroyNotify destroy = g_atomic_pointer_exchange (&item->func_data_destroy, NULL);

  if (destroy != NULL)
    tether_release_func_data (item->home, item->func_data, destroy);
}

static gboolean item_release_elsewhere (PoolItem *item);

/* Once the work has ended: its data goes then, not with the last reference
 * (which the caller's future may keep), and on one of the pool's threads,
 * as a manager's goes on its thread: never inside a submit() or cancel()
 * call of the application's, which may hold a lock the destroy notify
 * takes. When the pool has no thread running to take it (it is stopping),
 * a shared helper thread of Tether's does. */
static void
item_release_data (PoolItem *item)
{
  if (g_atomic_pointer_get (&item->func_data_destroy) == NULL || item_release_elsewhere (item))
    return;
  item_release_data_now (item);
}

static void
release_posted (gpointer data)
{
  item_release_data_now (data);
}

/* Set while this thread is inside a submission to a pool. */
static GPrivate in_submit;

/* Releases handed to the helper thread, and those it has made: a stop
 * waits for every release handed over before it ends (see
 * wait_helper_releases()). Counters, not a reference to the pool: the
 * helper may outlive a pool whose refused items it releases. */
static GMutex helper_lock;
static GCond helper_cond;
static guint64 helper_pushed;    /* helper_lock */
static guint64 helper_done;      /* helper_lock */
static GPrivate on_helper;       /* set on the helper thread */

static void
release_on_helper (gpointer data,
                   gpointer user_data)
{
  g_private_set (&on_helper, GINT_TO_POINTER (TRUE));
  item_release_data_now (data);
  item_unref (data);
  g_mutex_lock (&helper_lock);
  helper_done++;
  g_cond_broadcast (&helper_cond);
  g_mutex_unlock (&helper_lock);
}

/* The helper thread for releases no pool thread can take: one of GLib's
 * shared threads, at most one at a time. */
static void
release_on_helper_thread (PoolItem *item)
{
  static GThreadPool *helper;

  if (g_once_init_enter (&helper))
    g_once_init_leave (&helper, g_thread_pool_new (release_on_helper, NULL, 1, FALSE, NULL));
  g_mutex_lock (&helper_lock);
  helper_pushed++;
  g_mutex_unlock (&helper_lock);
  g_thread_pool_push (helper, item_ref (item), NULL);
}

/* Waits until the helper thread has made every release handed to it so
 * far. A stop calls it last, so that the data of work it ended is released
 * when it returns, also the data whose release a CANCEL stop of a pool
 * thread dropped and the helper took over. Not on the helper thread itself
 * (a destroy notify that stops a pool), which would wait for itself. */
static void
wait_helper_releases (void)
{
  guint64 target;

  if (g_private_get (&on_helper) != NULL)
    return;
  g_mutex_lock (&helper_lock);
  target = helper_pushed;
  while (helper_done < target)
    g_cond_wait (&helper_cond, &helper_lock);
  g_mutex_unlock (&helper_lock);
}

/* The release's post went: after release_posted(), or unrun (a CANCEL stop
 * of that thread drops queued posts), when the helper thread takes it. */
static void
release_post_dropped (gpointer data)
{
  PoolItem *item = data;

  if (g_atomic_pointer_get (&item->func_data_destroy) != NULL)
    release_on_helper_thread (item);
  item_unref (item);
}

/* Not on one of the pool's threads, or inside a submission: hands the
 * release to the item's thread (or the first one, for an item never handed
 * out), else to the helper thread. Returns whether it did. */
static gboolean
item_release_elsewhere (PoolItem *item)
{
  TetherPool *self = item->pool;
  g_autoptr(TetherLoopManager) target = NULL;
  gboolean here;
  guint me;

  g_mutex_lock (&self->lock);
  here = g_private_get (&in_submit) == NULL && current_worker (self, &me);
  if (!here && self->started)
    target = g_object_ref (self->workers[item->worker < self->n_threads ? item->worker : 0].manager);
  g_mutex_unlock (&self->lock);

  if (here)
    return FALSE;
  /* A refused post (that thread stopped meanwhile) has dropped its
   * reference. */
  if (target == NULL ||
      !tether_loop_manager_post (target, NULL, release_posted, item_ref (item), release_post_dropped,
                                 NULL))
    release_on_helper_thread (item);
  return TRUE;
}


/* Drops a reference to @item. If it was the last, frees @item and
 * returns whether it was counted in PoolHot:n_live, leaving the count to
 * the caller (pool_uncount()). */
static gboolean
item_unref_uncounted (PoolItem *item)
{
  gboolean counted;

  if (!g_atomic_ref_count_dec (&item->ref_count))
    return FALSE;
  g_assert (item->future == NULL);
  item_release_data_now (item);
  g_clear_object (&item->cancellable);
  g_clear_object (&item->inner);
  g_clear_pointer (&item->home, g_main_context_unref);
  g_free (item->task_type);
  counted = item->counted;
  /* Usually a pool thread, while submitters allocate. */
  tether_recycler_put (&item->pool->hot->spare_items, TETHER_RECYCLE_POOL_ITEM, &item->node);
  return counted;
}

/* @n accepted items were freed. The last one lets go of the pool's
 * reference to itself. */
static void
pool_uncount (TetherPool *self,
              int         n)
{
  if (n > 0 && g_atomic_int_add (&self->hot->n_live, -n) == n)
    g_object_unref (self);
}

static void
item_unref (gpointer data)
{
  PoolItem *item = data;
  TetherPool *pool = item->pool;

  if (item_unref_uncounted (item))
    pool_uncount (pool, 1);
}

static void
free_value (gpointer data)
{
  GValue *value = data;

  g_value_unset (value);
  g_free (value);
}

/* A copy of the value of @future, which succeeded; %NULL if it has none. */
static GValue *
dup_future_value (TetherFuture *future)
{
  const GValue *result = tether_future_get_value (future);
  GValue *value;

  if (result == NULL)
    return NULL;
  value = g_new0 (GValue, 1);
  g_value_init (value, G_VALUE_TYPE (result));
  g_value_copy (result, value);
  return value;
}

/* @item ended, its state ITEM_DONE, and @future and @cancel_id taken from
 * it under the pool lock: counts it, releases its data if nothing else
 * will, and delivers @value or @error to @future (both consumed). */
static void
item_deliver (PoolItem     *item,
              TetherFuture *future,
              gulong        cancel_id,
              GValue       *value,
              GError       *error)
{
  if ((error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) ||
      !g_atomic_int_get (&item->started))
    g_atomic_int_inc (&item->pool->n_ended_cancelled);
  else
    g_atomic_int_inc (&item->pool->n_ended_ran);

  /* Not g_cancellable_disconnect(): this may run inside the handler. */
  if (cancel_id != 0)
    g_signal_handler_disconnect (item->cancellable, cancel_id);
  /* Never started; or kept work that ended after its function returned
   * (see item_run()). */
  if (!g_atomic_int_get (&item->started) || g_atomic_int_get (&item->returned))
    item_release_data (item);
  if (future != NULL)
    {
      tether_future_try_complete (future, value, error);
      g_object_unref (future);
    }
  else
    {
      g_clear_pointer (&value, free_value);
      g_clear_error (&error);
    }
}

/* Any thread, once: the outcome (@value or @error, consumed) goes to the
 * caller's future, which the item then lets go of (the future holds the
 * item, for cancel(), until it is finalized: letting go here breaks that
 * cycle). */
static void
item_finish (PoolItem *item,
             GValue   *value,
             GError   *error)
{
  TetherFuture *future;
  gulong cancel_id;

  g_mutex_lock (&item->pool->lock);
  item->state = ITEM_DONE;
  future = g_steal_pointer (&item->future);
  cancel_id = item->cancel_id;
  item->cancel_id = 0;
  g_mutex_unlock (&item->pool->lock);
  item_deliver (item, future, cancel_id, value, error);
}

/* An item that the caller marked ITEM_DONE under the pool lock, as it
 * took it out of the queue or off its timer, ends cancelled with a copy of
 * @error. From then on nothing else reads its future or cancel handler
 * (item_cancel() and the timer leave a done item alone, and only queued
 * items get assigned), so they are taken here without the lock: a stop
 * that ends a deep queue takes it once, not once per item. */
static void
item_end_cancelled (PoolItem     *item,
                    const GError *error)
{
  TetherFuture *future = g_steal_pointer (&item->future);
  gulong cancel_id = item->cancel_id;

  item->cancel_id = 0;
  item_deliver (item, future, cancel_id, NULL, future != NULL ? g_error_copy (error) : NULL);
}

static GError *
cancelled_error (TetherPool *self,
                 const char *why)
{
  return g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                      _("Work on pool '%s' was cancelled before it started (%s)"),
                      self->id, why);
}

/* Pool lock held: an item left the queue. Submissions waiting for room
 * (see TetherPool:submit-timeout) recheck; nobody is woken when none wait. */
static void
room_made_locked (TetherPool *self)
{
  if (self->n_room_waiters > 0)
    g_cond_broadcast (&self->room);
}

/* Pool lock held: how many threads are blocked, in a wait for an item of
 * the pool or for room in its queue. */
static guint
n_blocked_locked (TetherPool *self)
{
  guint n = 0;

  for (guint i = 0; i < self->n_threads; i++)
    if (self->workers[i].waiting_on != NULL || self->workers[i].waiting_room)
      n++;
  return n;
}

/* Debug mode: a CANCEL stop dropped @item unrun. */
static void
item_log_dropped (PoolItem *item)
{
  g_autofree char *name =
    tether_debug_describe_func (item->func != NULL ? (gpointer) item->func
                                                   : (gpointer) item->post_func);

  tether_debug_log_dropped (item->pool->id, item->task_type, name,
                            "the pool was stopped with StopMode.CANCEL");
}

/* Any thread: what cancelling the caller's future, or its cancellable,
 * does. Queued, the item ends cancelled here; handed to a thread, that
 * thread's job is cancelled (it ends at once if not started, and sees its
 * cancellable fire if it runs). */
static void
item_cancel (PoolItem   *item,
             const char *why)
{
  TetherPool *self = item->pool;
  g_autoptr(TetherFuture) inner = NULL;
  g_autoptr(TetherFuture) timer = NULL;
  gboolean unqueued = FALSE;

  g_mutex_lock (&self->lock);
  /* Its submission returned, so it was pushed whole. */
  flush_inbox_locked (self);
  if (item->state == ITEM_QUEUED)
    {
      g_queue_unlink (&self->queue, &item->link);
      item->state = ITEM_DONE;
      self->n_ended_queued++;
      unqueued = TRUE;
      room_made_locked (self);
    }
  else if (item->state == ITEM_TIMER)
    {
      /* Its timer goes too: the timer thread's function never runs. */
      timer = g_steal_pointer (&item->timer);
      item->state = ITEM_DONE;
      self->n_ended_queued++;
      unqueued = TRUE;
    }
  else if (item->state == ITEM_ASSIGNED)
    {
      item->cancel_requested = TRUE;
      if (item->inner != NULL)
        inner = g_object_ref (item->inner);
    }
  g_mutex_unlock (&self->lock);

  if (timer != NULL)
    tether_future_cancel (timer);
  if (unqueued)
    {
      g_autoptr(GError) error = cancelled_error (self, why);

      item_end_cancelled (item, error);
      item_unref (item);                    /* the queue's */
    }
  else if (inner != NULL)
    {
      tether_future_cancel (inner);
    }
}

static void
future_cancelled (TetherFuture *future,
                  gpointer      data)
{
  item_cancel (data, "Future.cancel() was called");
}

static void
user_cancelled (GCancellable *cancellable,
                gpointer      data)
{
  item_cancel (data, "its cancellable was cancelled");
}

/* Blocking waits on a pool's future from that pool's own threads. */

static gboolean
current_worker (TetherPool *self,
                guint      *index)
{
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();

  if (current == NULL || !self->started)
    return FALSE;
  for (guint i = 0; i < self->n_threads; i++)
    if (self->workers[i].manager == current)
      {
        *index = i;
        return TRUE;
      }
  return FALSE;
}

/* Pool lock held. Whether thread @me blocking until @item ends could never
 * end: the chain of threads running items that wait for items leads back
 * to @me, or to a queued item while every other thread is blocked too. */
static gboolean
wait_would_deadlock_locked (TetherPool *self,
                            guint       me,
                            PoolItem   *item)
{
  guint n_waiting = n_blocked_locked (self);

  for (guint steps = 0; item != NULL && steps <= self->n_threads; steps++)
    {
      Worker *worker;

      /* A timer joins the queue when due: the same question. */
      if (item->state == ITEM_QUEUED || item->state == ITEM_TIMER)
        return n_waiting + 1 >= self->n_threads;
      if (item->state != ITEM_ASSIGNED)
        return FALSE;       /* done */
      /* Running on its thread, queued on that thread's manager behind what
       * runs there (work submitted to the thread directly, which the pool
       * does not count as busy), or kept past its function to end later,
       * most often from a callback in that thread's context (a GIO call it
       * started): taken to end only once that thread is free, as a
       * manager's own deferred work is. */
      if (item->worker == me)
        return TRUE;
      worker = &self->workers[item->worker];
      item = worker->waiting_on;
    }
  return FALSE;
}

static gboolean
item_wait_begin (TetherFuture  *future,
                 gpointer       data,
                 GError       **error)
{
  PoolItem *item = data;
  TetherPool *self = item->pool;
  gboolean refused = FALSE;
  guint me;

  g_mutex_lock (&self->lock);
  if (current_worker (self, &me))
    {
      refused = wait_would_deadlock_locked (self, me, item);
      if (!refused)
        self->workers[me].waiting_on = item;
    }
  g_mutex_unlock (&self->lock);

  if (refused)
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                 _("Future.wait() on a thread of pool '%s' would deadlock: no other thread of the "
                   "pool can run the work waited for (they are all waiting too); the work is still "
                   "queued: use Future.wait_async() instead"),
                 self->id);
  return !refused;
}

static void
item_wait_end (TetherFuture *future,
               gpointer      data)
{
  PoolItem *item = data;
  TetherPool *self = item->pool;
  guint me;

  g_mutex_lock (&self->lock);
  if (current_worker (self, &me) && self->workers[me].waiting_on == item)
    self->workers[me].waiting_on = NULL;
  g_mutex_unlock (&self->lock);
}

static const TetherFutureWaitHooks item_wait_hooks = {
  .begin = item_wait_begin,
  .end = item_wait_end,
};

/* Threads */

/* Any thread: thread @index has no job of the pool any more. */
static void
worker_idle (TetherPool *self,
             guint       index)
{
  pool_lock (self);
  if (self->started && self->workers[index].busy)
    {
      self->workers[index].busy = FALSE;
      g_atomic_int_inc (&self->hot->n_idle);
      /* Only a stop waits for threads to go idle; a broadcast is a system
       * call even when nobody waits. */
      if (self->n_stopping > 0)
        g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->lock);
  pool_pump (self);
}

/* A pool thread: runs the item's function. The thread is free for the next
 * item as soon as the function returns, even if it kept its work to end
 * later. */
static void
item_run (TetherWork *work,
          gpointer    data)
{
  PoolItem *item = data;
  TetherPool *self = item->pool;

  g_atomic_int_set (&item->started, TRUE);
  g_mutex_lock (&self->lock);
  item->running = TRUE;
  g_mutex_unlock (&self->lock);

  item->func (work, item->func_data);

  g_mutex_lock (&self->lock);
  item->running = FALSE;
  g_mutex_unlock (&self->lock);
  /* A submission's data goes once its function has returned and its
   * outcome is in, as a manager's does: here, on the pool thread, when the
   * work returned inside its function (usual); else where the kept Work
   * returns (item_finish()). Both sides store, then load the other's
   * flag (sequentially consistent), so at least one of them sees both. */
  g_atomic_int_set (&item->returned, TRUE);
  if (tether_work_is_done (work))
    item_release_data (item);
  worker_idle (self, item->worker);
}

/* The thread's future ended, on whatever thread ended it: its outcome is
 * the item's. If the function never ran (cancelled before it started), the
 * thread is free now. */
static void
inner_done (TetherFuture *inner,
            gpointer      data)
{
  PoolItem *item = data;
  GError *error = tether_future_dup_error (inner);
  TetherFuture *held;

  item_finish (item, error == NULL ? dup_future_value (inner) : NULL, error);

  /* The thread's future is done with: it let go of the caller's future
   * (progress forwarding), and the item lets go of it. */
  g_mutex_lock (&item->pool->lock);
  held = g_steal_pointer (&item->inner);
  g_mutex_unlock (&item->pool->lock);
  tether_future_forward_progress (inner, NULL);
  g_clear_object (&held);

  if (!g_atomic_int_get (&item->started))
    worker_idle (item->pool, item->worker);
  item_unref (item);
}

/* A pool thread: a post's function. No future, so no job: the thread's
 * manager runs it as a post of its own. */
/* A post has no future to wait on and no cancellable, so none of the
 * bookkeeping of a submission: it is marked started (for post_released())
 * and run. Its state is left ASSIGNED: nothing looks at a post's state. */
static void
post_run_one (PoolItem *item)
{
  g_atomic_int_set (&item->started, TRUE);
  item->post_func (item->func_data);
  item_release_data (item);
}

/* At most this many queued posts run back to back on a thread before it
 * goes back to its context, so that the context's other sources (and
 * work submitted to that thread's manager) get turns. */
#define POST_BATCH 64

/* Pool lock held: the next queued item for thread @index to run right
 * here, if it is a post (a submission needs its manager's job and Work, so
 * it is handed over as usual). The thread stays busy. @empty says
 * whether the queue was empty, for spin_for_push(). */
static PoolItem *
take_next_post_locked (TetherPool *self,
                       guint       index,
                       gboolean   *empty)
{
  PoolItem *next;

  *empty = FALSE;
  if (!self->started)
    return NULL;
  take_inbox_locked (self);
  if (g_queue_is_empty (&self->queue))
    {
      *empty = TRUE;
      return NULL;
    }
  next = self->queue.head->data;
  if (next->post_func == NULL)
    return NULL;
  g_queue_unlink (&self->queue, &next->link);
  next->state = ITEM_ASSIGNED;
  next->worker = index;
  room_made_locked (self);
  return next;
}

/* How long a thread that ran posts and found the queue empty watches it
 * before it goes idle, by default. A burst of posts from one producer
 * arrives a few hundred nanoseconds apart: without the watch, the threads
 * outrun the producer, go idle after every post, and each post then pays a
 * hand-over to a thread's manager and a wake-up of its thread (a few
 * microseconds on a VM). Short and bounded, and only after work: an idle
 * pool spins nothing. */
#define DEFAULT_POST_SPIN_USEC 20

/* A pool thread that found the queue empty: watches the inbox for the
 * next push for up to TetherPool:post-spin, as the pool's only watcher (one
 * thread spinning is enough; two would take a core from the producer). An
 * item that another thread moved on to the queue meanwhile (a cancel or a
 * count flushes the inbox) is not seen: it waits out the watch, after
 * which the thread goes idle and pumps it. While it watches, submitters
 * leave new items to it instead of handing them to idle threads
 * (pool_pump()). Returns TRUE if an item came; FALSE if the time ran out,
 * another thread watches, or the watch is off. In both cases the watch has
 * ended when this returns, so that the caller's next step (taking the
 * item, or going idle) pumps what is queued. A stop that waits for the
 * thread waits at most the watch's length more. */
static gboolean
spin_for_push (TetherPool *self)
{
  int spin = g_atomic_int_get (&self->post_spin);
  gint64 deadline;
  gboolean came = FALSE;

  if (spin == 0 || !g_atomic_int_compare_and_exchange (&self->hot->spinning, 0, 1))
    return FALSE;
  deadline = g_get_monotonic_time () + spin;
  do
    {
      for (guint i = 0; i < 32 && !came; i++)
        came = g_atomic_pointer_get (&self->hot->inbox) != NULL;
    }
  while (!came && g_get_monotonic_time () < deadline);
  g_atomic_int_set (&self->hot->spinning, 0);
  return came;
}

/* A pool thread. Then, while the queue starts with posts, runs them here
 * without a round through the manager: a thread that would take the next
 * item anyway takes it now, and FIFO order holds because it takes the
 * queue's head. When the queue runs dry, the thread watches it for a
 * moment (spin_for_push()) before it goes idle. */
static void
post_run (gpointer data)
{
  PoolItem *item = data;
  TetherPool *self = item->pool;
  guint index = item->worker;
  guint i = 1;
  int n_freed = 0;

  post_run_one (item);
  while (i < POST_BATCH)
    {
      PoolItem *next;
      gboolean more;
      gboolean empty;

      pool_lock (self);
      next = take_next_post_locked (self, index, &empty);
      more = !g_queue_is_empty (&self->queue);
      g_mutex_unlock (&self->lock);
      if (next == NULL)
        {
          if (empty && spin_for_push (self))
            continue;
          break;
        }
      /* What came while this thread watched was left to it: anything
       * behind this item goes to an idle thread now, as it would have. */
      if (more)
        pool_pump (self);
      post_run_one (next);
      if (item_unref_uncounted (next))      /* the queue's */
        n_freed++;
      i++;
    }
  /* Taken back once per batch: the count's cache line is the submitters'.
   * @item, freed after this returns, keeps the count above zero. */
  pool_uncount (self, n_freed);
  /* Counted once per batch, before the thread is idle (and so before a
   * stop that waits for it returns): a counter every thread bumps per post
   * is a cache line they pass around. */
  g_atomic_int_add (&self->n_ended_ran, (int) i);
  worker_idle (self, index);
}

/* The thread's manager let go of the post: after post_run(), or unrun (a
 * CANCEL stop drops queued posts), when the thread is free again. */
static void
post_released (gpointer data)
{
  PoolItem *item = data;

  if (!g_atomic_int_get (&item->started))
    {
      item_finish (item, NULL, NULL);
      worker_idle (item->pool, item->worker);
    }
  item_unref (item);
}

/* Hands @item (whose queue reference the caller passes on) to thread
 * @index, which is idle and marked busy for it. */
static void
pool_assign (TetherPool        *self,
             TetherLoopManager *manager,
             guint              index,
             PoolItem          *item)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) outer = NULL;
  TetherFuture *inner;
  gboolean cancel_now;

  if (item->post_func != NULL)
    {
      /* The queue's reference goes with the post. */
      if (!tether_loop_manager_post (manager, item->task_type, post_run, item, post_released,
                                     &error))
        g_clear_error (&error);     /* post_released() ran: stopped under a stop */
      return;
    }

  inner = tether_loop_manager_submit (manager, item->task_type, item_run, item_ref (item),
                                      item_unref, item->cancellable, &error);
  if (inner == NULL)
    {
      /* The thread's manager stopped under a stop of the pool. */
      item_finish (item, NULL, cancelled_error (self, "the pool was stopped"));
      worker_idle (self, index);
      item_unref (item);
      return;
    }

  g_mutex_lock (&self->lock);
  item->inner = g_object_ref (inner);
  cancel_now = item->cancel_requested;
  outer = item->future != NULL ? g_object_ref (item->future) : NULL;
  g_mutex_unlock (&self->lock);

  /* Progress goes on to the caller's future as it is reported, on the
   * reporting thread (the thread's own context is busy running the work);
   * a report made before this is the latest so far. */
  if (outer != NULL)
    {
      g_autoptr(GVariant) progress = NULL;

      tether_future_forward_progress (inner, outer);
      progress = tether_future_dup_progress (inner);
      if (progress != NULL)
        tether_future_report_progress (outer, progress);
    }

  tether_future_listen (inner, inner_done, item);   /* the queue's reference */
  if (cancel_now)
    tether_future_cancel (inner);
  g_object_unref (inner);
}

/* Pool lock held, some thread idle: the one to hand the next item to. A
 * pool thread that submits is running something (work given to its manager
 * directly, which the pool does not count): it is picked last, so that its
 * submission does not wait behind itself while another thread is free. */
static guint
pick_idle_locked (TetherPool *self)
{
  guint me = G_MAXUINT;
  guint index;

  if (!current_worker (self, &me))
    me = G_MAXUINT;
  for (index = 0; index < self->n_threads; index++)
    if (!self->workers[index].busy && index != me)
      return index;
  g_assert (me < self->n_threads && !self->workers[me].busy);
  return me;
}

/* Any thread, no lock held: hands queued items to idle threads, oldest
 * first, until one runs out. */
static void
pool_pump (TetherPool *self)
{
  /* Busy threads take the queue's head themselves when they finish (see
   * worker_idle()), which pumps under the lock after counting itself idle:
   * with no thread idle as this reads, there is nothing to do here, and a
   * submission pays no second lock. */
  if (g_atomic_int_get (&self->hot->n_idle) == 0)
    return;
  /* A thread watches the queue (spin_for_push()): it takes what came, and
   * pumps anything behind it once it stops watching. */
  if (g_atomic_int_get (&self->hot->spinning))
    return;
  for (;;)
    {
      g_autoptr(TetherLoopManager) manager = NULL;
      PoolItem *item = NULL;
      guint index = 0;

      pool_lock (self);
      take_inbox_locked (self);
      if (self->started && self->hot->n_idle > 0 && !g_queue_is_empty (&self->queue))
        {
          index = pick_idle_locked (self);
          item = g_queue_pop_head_link (&self->queue)->data;
          room_made_locked (self);
          item->state = ITEM_ASSIGNED;
          item->worker = index;
          self->workers[index].busy = TRUE;
          g_atomic_int_add (&self->hot->n_idle, -1);
          manager = g_object_ref (self->workers[index].manager);
        }
      g_mutex_unlock (&self->lock);

      if (item == NULL)
        return;
      pool_assign (self, manager, index, item);
    }
}

/* Any thread. Returns %FALSE. */
static gboolean
refuse_not_running (TetherPool  *self,
                    GError     **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING,
               _("Pool '%s' is not running; call Pool.start() before submitting work"),
               self->id);
  return FALSE;
}

/* Pool lock held. */
static gboolean
check_accepting_locked (TetherPool  *self,
                        const char  *task_type,
                        GError     **error)
{
  if (!self->running)
    return refuse_not_running (self, error);
  if (self->task_type != NULL && g_strcmp0 (self->task_type, task_type) != 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                   _("Pool '%s' runs with task type '%s' and refuses '%s'; submit with '%s'"),
                   self->id, self->task_type, task_type != NULL ? task_type : "(none)",
                   self->task_type);
      return FALSE;
    }
  return TRUE;
}

/* Pool lock held: whether a thread of the pool other than the caller's may
 * still take an item from the queue (one that is not blocked itself). */
static gboolean
room_can_come_locked (TetherPool *self)
{
  guint me;

  return !current_worker (self, &me) || n_blocked_locked (self) + 1 < self->n_threads;
}

/* Pool lock held: checks that the pool accepts @task_type and, for a
 * submission that takes room, waits for room in the queue as
 * TetherPool:submit-timeout says, rechecking everything after each wait.
 * On a thread of the pool the wait is refused where no other thread could
 * make room (every other one is blocked in a wait of its own). */
static gboolean
admit_locked (TetherPool  *self,
              const char  *task_type,
              gboolean     takes_room,
              GError     **error)
{
  gint64 deadline = -1;
  guint me = 0;
  gboolean on_thread;

  for (;;)
    {
      if (!check_accepting_locked (self, task_type, error))
        return FALSE;
      flush_inbox_locked (self);
      if (!takes_room || self->max_pending == 0 || self->queue.length < self->max_pending)
        return TRUE;

      if (self->submit_timeout == 0 ||
          (deadline >= 0 && g_get_monotonic_time () >= deadline))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_BUSY,
                       _("Pool '%s' has %u submissions queued (max-pending); nothing was "
                         "submitted. Retry later, raise Pool:max-pending, or set "
                         "Pool:submit-timeout to wait for room"),
                       self->id, self->queue.length);
          return FALSE;
        }
      if (!room_can_come_locked (self))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                       _("Waiting for room on pool '%s' from one of its own threads would "
                         "deadlock: every other thread of the pool is blocked waiting too; "
                         "nothing was submitted"),
                       self->id);
          return FALSE;
        }
      if (deadline < 0 && self->submit_timeout > 0)
        {
          gint64 now = g_get_monotonic_time ();

          deadline = self->submit_timeout > G_MAXINT64 - now ? G_MAXINT64
                                                             : now + self->submit_timeout;
        }

      /* Woken when an item leaves the queue or a stop begins. */
      on_thread = current_worker (self, &me);
      self->n_room_waiters++;
      if (on_thread)
        self->workers[me].waiting_room = TRUE;
      if (deadline < 0)
        g_cond_wait (&self->room, &self->lock);
      else
        g_cond_wait_until (&self->room, &self->lock, deadline);
      if (on_thread)
        self->workers[me].waiting_room = FALSE;
      self->n_room_waiters--;
    }
}

/* Timers: a pool's timers wait on a manager of their own, `<id>/timers`,
 * made at the first timer and stopped (CANCEL) with the pool. Its thread
 * only moves due items into the queue, so a timer is never late because
 * the pool's threads are busy with long jobs: it joins the queue on time,
 * and runs when a thread is free. */

/* Pool lock held: the timer manager, running. */
static TetherLoopManager *
ensure_timers_locked (TetherPool  *self,
                      GError     **error)
{
  g_autofree char *name = NULL;
  TetherLoopManager *timers;

  if (self->timers != NULL)
    return g_object_ref (self->timers);

  name = g_strdup_printf ("%s/timers", self->id);
  timers = tether_loop_manager_new (name);
  /* Under the pool lock, so that a stop finds it: its thread never takes
   * that lock while starting. */
  if (!tether_loop_manager_start (timers, NULL, error))
    {
      g_object_unref (timers);
      return NULL;
    }
  self->timers = timers;
  return g_object_ref (timers);
}

/* Ends @item, still waiting for its time, cancelled. */
static void
timer_item_cancelled (PoolItem   *item,
                      const char *why)
{
  TetherPool *self = item->pool;
  TetherFuture *held = NULL;
  gboolean ended = FALSE;

  g_mutex_lock (&self->lock);
  if (item->state == ITEM_TIMER)
    {
      item->state = ITEM_DONE;
      self->n_ended_queued++;
      held = g_steal_pointer (&item->timer);
      ended = TRUE;
    }
  g_mutex_unlock (&self->lock);

  g_clear_object (&held);
  if (ended)
    {
      g_autoptr(GError) error = cancelled_error (self, why);

      item_end_cancelled (item, error);
      item_unref (item);                    /* the timer's */
    }
}

/* The timer thread: @item is due, and joins the queue's tail. */
static void
timer_fire (TetherWork *work,
            gpointer    data)
{
  PoolItem *item = data;
  TetherPool *self = item->pool;
  TetherFuture *held = NULL;
  gboolean queued = FALSE;

  g_mutex_lock (&self->lock);
  if (item->state == ITEM_TIMER)
    {
      item->state = ITEM_QUEUED;
      held = g_steal_pointer (&item->timer);
      /* The timer's reference becomes the queue's. */
      pool_enqueue (self, item);
      queued = TRUE;
    }
  g_mutex_unlock (&self->lock);

  g_clear_object (&held);
  tether_work_return_value (work, NULL);
  if (queued)
    pool_pump (self);
}

/* The timer's future ended: after timer_fire(), or unfired (a stop of the
 * pool cancelled it), when the item ends cancelled. */
static void
timer_ended (TetherFuture *timer,
             gpointer      data)
{
  PoolItem *item = data;

  timer_item_cancelled (item, "the pool was stopped before its time came");
  item_unref (item);
}

/* Puts @item, accepted as a timer, on the timer thread. */
static void
timer_arm (TetherPool        *self,
           TetherLoopManager *timers,
           PoolItem          *item)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) timer = NULL;
  gboolean cancel_now = FALSE;

  timer = tether_loop_manager_submit_at (timers, NULL, item->ready_time, timer_fire,
                                         item_ref (item), item_unref, NULL, &error);
  if (timer == NULL)
    {
      /* A stop of the pool stopped the timer thread first. */
      timer_item_cancelled (item, "the pool was stopped");
      return;
    }

  g_mutex_lock (&self->lock);
  if (item->state == ITEM_TIMER)
    item->timer = g_object_ref (timer);
  else
    cancel_now = TRUE;                    /* cancelled before the timer existed */
  g_mutex_unlock (&self->lock);

  tether_future_listen (timer, timer_ended, item_ref (item));
  if (cancel_now)
    tether_future_cancel (timer);
}

static PoolItem *
item_new (TetherPool     *self,
          const char     *task_type,
          gpointer        func,
          gpointer        func_data,
          GDestroyNotify  func_data_destroy,
          GCancellable   *cancellable)
{
  PoolItem *item = tether_recycler_alloc (&self->hot->spare_items, TETHER_RECYCLE_POOL_ITEM,
                                         sizeof (PoolItem));

  memset (item, 0, sizeof *item);

  g_atomic_ref_count_init (&item->ref_count);
  /* Not a reference: the caller holds the pool through the submission,
   * and an accepted item is counted in TetherPool:n_live instead. */
  item->pool = self;
  item->task_type = g_strdup (task_type);
  item->func_data = func_data;
  item->func_data_destroy = func_data_destroy;
  item->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  item->javascript = tether_func_is_javascript (func, func_data_destroy, &item->home);
  item->link.data = item;
  item->state = ITEM_QUEUED;
  return item;
}

static gboolean pool_accept_inner (TetherPool *self, PoolItem *item, GError **error);

/* GJS runs JavaScript only on its own thread: a pool's threads cannot call
 * it. Returns %FALSE. */
static gboolean
refuse_javascript (TetherPool  *self,
                   GError     **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
               _("Pool '%s' cannot run a JavaScript function: GJS runs JavaScript only on its "
                 "own thread; submit work written in C or Python"),
               self->id);
  return FALSE;
}

/* Queues @item (the caller's reference goes to the queue), or refuses it,
 * marked as inside a submission (see item_release_data()). */
static gboolean
pool_accept (TetherPool  *self,
             PoolItem    *item,
             GError     **error)
{
  gpointer outer = g_private_get (&in_submit);
  gboolean ret;

  g_private_set (&in_submit, item);
  ret = pool_accept_inner (self, item, error);
  g_private_set (&in_submit, outer);
  return ret;
}

/* After PoolHot:open went %FALSE: waits out the submitters that saw it
 * %TRUE, so that what they admitted is in the inbox, whole. Each is a few
 * instructions from done, unless the kernel preempted it. */
static void
wait_admissions (TetherPool *self)
{
  while (g_atomic_int_get (&self->hot->n_admitting) > 0)
    g_thread_yield ();
}

/* Queues @item without the pool's lock if the pool is open (running, no
 * bound on its queue) and takes @item's task type: the common case, where
 * a submission and the threads that take work would otherwise meet at the
 * lock for every item. Returns whether it did; if not, the locked path
 * decides. The count of submitters inside lets a stop wait for them
 * (wait_admissions()): either it sees this one counted, or this one sees
 * the pool closed (both sides store, then load the other's). */
static gboolean
pool_accept_open (TetherPool *self,
                  PoolItem   *item)
{
  gboolean accepted = FALSE;

  g_atomic_int_inc (&self->hot->n_admitting);
  /* While open, the task type is the one start() set before opening. */
  if (g_atomic_int_get (&self->hot->open) &&
      (self->task_type == NULL || g_strcmp0 (self->task_type, item->task_type) == 0))
    {
      item->counted = TRUE;
      if (g_atomic_int_add (&self->hot->n_live, 1) == 0)
        g_object_ref (self);
      pool_enqueue (self, item);
      accepted = TRUE;
    }
  g_atomic_int_dec_and_test (&self->hot->n_admitting);
  return accepted;
}

/* Once queued, a thread may take, run and free the item at any moment:
 * what this reads of it afterwards it reads under its own reference. */
static gboolean
pool_accept_inner (TetherPool  *self,
                   PoolItem    *item,
                   GError     **error)
{
  GCancellable *cancellable = item->cancellable;   /* immutable */
  g_autoptr(TetherLoopManager) timers = NULL;

  if (item->javascript)
    return refuse_javascript (self, error);
  if (cancellable == NULL && !item->is_timer && pool_accept_open (self, item))
    {
      pool_pump (self);
      return TRUE;
    }
  /* Stopped or stopping: refused without the lock, which a stop that ends
   * a deep queue needs (a flood of refused submitters would otherwise take
   * turns at it with the stop). */
  if (!g_atomic_int_get (&self->hot->running))
    {
      g_atomic_pointer_add (&self->n_refused, 1);
      return refuse_not_running (self, error);
    }
  pool_lock (self);
  if (!admit_locked (self, item->task_type, !item->is_timer, error) ||
      (item->is_timer && (timers = ensure_timers_locked (self, error)) == NULL))
    {
      g_atomic_pointer_add (&self->n_refused, 1);
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  item->counted = TRUE;
  if (g_atomic_int_add (&self->hot->n_live, 1) == 0)
    g_object_ref (self);
  if (cancellable != NULL)
    item_ref (item);                      /* for the connection below */
  if (item->is_timer)
    {
      item->state = ITEM_TIMER;
      item_ref (item);                    /* for timer_arm() */
    }
  else
    {
      pool_enqueue (self, item);
    }
  g_mutex_unlock (&self->lock);

  if (timers != NULL)
    {
      timer_arm (self, timers, item);
      item_unref (item);
    }

  /* Connected once queued, so that the handler finds it there; it runs at
   * once if the cancellable has fired already. */
  if (cancellable != NULL)
    {
      gulong id = g_cancellable_connect (cancellable, G_CALLBACK (user_cancelled),
                                         item_ref (item), item_unref);
      gboolean kept = FALSE;

      pool_lock (self);
      if (item->state != ITEM_DONE && id != 0)
        {
          item->cancel_id = id;
          kept = TRUE;
        }
      g_mutex_unlock (&self->lock);
      if (!kept && id != 0)
        g_signal_handler_disconnect (cancellable, id);
      item_unref (item);
    }

  pool_pump (self);
  return TRUE;
}

/* GObject */

static void
tether_pool_finalize (GObject *object)
{
  TetherPool *self = (TetherPool *) object;

  /* Every item holds the pool: none is left. */
  g_assert (g_queue_is_empty (&self->queue));
  g_assert (self->hot->inbox == NULL);
  tether_recycler_clear (&self->hot->spare_items);
  g_aligned_free (self->hot);
  if (self->workers != NULL)
    for (guint i = 0; i < self->n_threads; i++)
      g_clear_object (&self->workers[i].manager);
  g_free (self->workers);
  /* Items hold the pool: no timer is pending. */
  g_clear_object (&self->timers);
  g_free (self->task_type);
  g_free (self->id);
  g_cond_clear (&self->room);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tether_pool_parent_class)->finalize (object);
}

/* The last reference went while running: a pool holds no reference to
 * itself while idle, so it stops here, draining, as a manager's last unref
 * does (queued items hold the pool, so the queue is empty by now). */
static void
tether_pool_dispose (GObject *object)
{
  TetherPool *self = (TetherPool *) object;

  guint me;

  g_mutex_lock (&self->lock);
  if (self->started && current_worker (self, &me))
    {
      /* On one of its own threads, which a stop would wait for: the
       * threads' managers go with the pool, and a manager's last unref
       * drains it in the background. */
      set_running_locked (self, FALSE);
      self->started = FALSE;
      g_cond_broadcast (&self->room);
    }
  g_mutex_unlock (&self->lock);
  if (self->started)
    tether_pool_stop (self, TETHER_STOP_MODE_DRAIN);

  G_OBJECT_CLASS (tether_pool_parent_class)->dispose (object);
}

static void
tether_pool_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TetherPool *self = TETHER_POOL (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_N_THREADS:
      g_value_set_uint (value, self->n_threads);
      break;
    case PROP_MAX_PENDING:
      g_value_set_uint (value, tether_pool_get_max_pending (self));
      break;
    case PROP_SUBMIT_TIMEOUT:
      g_value_set_int64 (value, tether_pool_get_submit_timeout (self));
      break;
    case PROP_DEBUG_FLAGS:
      g_value_set_flags (value, tether_pool_get_debug_flags (self));
      break;
    case PROP_SLOW_THRESHOLD:
      g_value_set_int64 (value, tether_pool_get_slow_threshold (self));
      break;
    case PROP_POST_SPIN:
      g_value_set_int64 (value, tether_pool_get_post_spin (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_pool_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TetherPool *self = TETHER_POOL (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_free (self->id);
      self->id = g_value_dup_string (value);
      break;
    case PROP_N_THREADS:
      self->n_threads = g_value_get_uint (value);
      break;
    case PROP_MAX_PENDING:
      tether_pool_set_max_pending (self, g_value_get_uint (value));
      break;
    case PROP_SUBMIT_TIMEOUT:
      tether_pool_set_submit_timeout (self, g_value_get_int64 (value));
      break;
    case PROP_DEBUG_FLAGS:
      tether_pool_set_debug_flags (self, g_value_get_flags (value));
      break;
    case PROP_SLOW_THRESHOLD:
      tether_pool_set_slow_threshold (self, g_value_get_int64 (value));
      break;
    case PROP_POST_SPIN:
      tether_pool_set_post_spin (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_pool_constructed (GObject *object)
{
  TetherPool *self = TETHER_POOL (object);
  static guint counter;

  G_OBJECT_CLASS (tether_pool_parent_class)->constructed (object);

  if (self->id == NULL || *self->id == '\0')
    {
      g_free (self->id);
      self->id = g_strdup_printf ("pool-%u", g_atomic_int_add (&counter, 1) + 1);
    }
  if (self->n_threads == 0)
    self->n_threads = MAX (1, g_get_num_processors ());
}

static void
tether_pool_class_init (TetherPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tether_pool_constructed;
  object_class->dispose = tether_pool_dispose;
  object_class->finalize = tether_pool_finalize;
  object_class->get_property = tether_pool_get_property;
  object_class->set_property = tether_pool_set_property;

  /**
   * TetherPool:id:
   *
   * The pool's name; its threads' managers are named `<id>/<n>`. %NULL or
   * an empty id at construction picks a unique `pool-<n>`.
   *
   * Since: 1.0
   */
  properties [PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherPool:n-threads:
   *
   * How many threads the pool runs, fixed at construction; 0 at
   * construction means g_get_num_processors().
   *
   * Since: 1.0
   */
  properties [PROP_N_THREADS] =
    g_param_spec_uint ("n-threads", NULL, NULL, 0, 1024, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherPool:max-pending:
   *
   * How many submissions may wait in the pool's queue for a thread; 0 (the
   * default) for no bound. A submission that finds the queue full waits for
   * room as [property@Tether.Pool:submit-timeout] says, and then fails with
   * %TETHER_ERROR_BUSY. Timers take no room until they are due (a due timer
   * joins the queue even if it is full). Lowering the bound below the
   * current queue drops nothing.
   *
   * Since: 1.0
   */
  properties [PROP_MAX_PENDING] =
    g_param_spec_uint ("max-pending", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherPool:submit-timeout:
   *
   * How long, in microseconds, a submission waits for room in a full queue
   * (see [property@Tether.Pool:max-pending]): 0, the default, fails at once
   * with %TETHER_ERROR_BUSY; -1 waits without limit. A stop ends the wait
   * with %TETHER_ERROR_NOT_RUNNING. On one of the pool's own threads the
   * wait is refused with %TETHER_ERROR_WOULD_DEADLOCK when every other
   * thread of the pool is blocked (in such a wait, or in a wait for work of
   * the pool), since only the pool's threads make room. Notified on the
   * thread that changes it.
   *
   * Since: 1.0
   */
  properties [PROP_SUBMIT_TIMEOUT] =
    g_param_spec_int64 ("submit-timeout", NULL, NULL, -1, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherPool:debug-flags:
   *
   * What the pool's debug mode reports, as [property@Tether.LoopManager:debug-flags]
   * does for a manager (the default also comes from `TETHER_DEBUG`). The
   * flags are set on the pool's threads' managers too, which report slow
   * work (%TETHER_DEBUG_FLAGS_SLOW) under their names, `<id>/<n>`. The pool
   * itself reports the submissions a CANCEL stop drops from its queue
   * (%TETHER_DEBUG_FLAGS_DROPPED), and a future of the pool that failed and
   * was finalized without anyone reading its error
   * (%TETHER_DEBUG_FLAGS_UNRETRIEVED; decided by the flags as they were
   * when the work was submitted).
   *
   * Since: 1.0
   */
  properties [PROP_DEBUG_FLAGS] =
    g_param_spec_flags ("debug-flags", NULL, NULL,
                        TETHER_TYPE_DEBUG_FLAGS, TETHER_DEBUG_FLAGS_NONE,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherPool:slow-threshold:
   *
   * How long one work function may run, in microseconds, before
   * %TETHER_DEBUG_FLAGS_SLOW reports it; set on the pool's threads'
   * managers (see [property@Tether.LoopManager:slow-threshold]).
   *
   * Since: 1.0
   */
  properties [PROP_SLOW_THRESHOLD] =
    g_param_spec_int64 ("slow-threshold", NULL, NULL, 0, G_MAXINT64,
                        TETHER_DEBUG_DEFAULT_SLOW_USEC,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherPool:post-spin:
   *
   * How long, in microseconds, a thread that has just run posts
   * ([method@Tether.Pool.post]) and finds the queue empty keeps watching
   * it before it goes idle; 0 turns the watch off.
   *
   * A burst of posts from one producer arrives faster than a sleeping
   * thread wakes up: without the watch, the threads outrun the producer,
   * go idle after each post, and every post pays a wake-up. At most one
   * thread of the pool watches at a time, so that the watch never takes
   * more than one core, and only right after work: an idle pool spins
   * nothing, and a single post costs at most this long of CPU on top of
   * its own. While a thread watches, a new item waits for it rather than
   * waking an idle thread; the item is taken within nanoseconds, and if it
   * turns out to be long, what is queued behind it goes to an idle thread
   * at once. Submissions with a future, and timers, are not watched for:
   * they go to an idle thread as they come.
   *
   * Since: 1.0
   */
  properties [PROP_POST_SPIN] =
    g_param_spec_int64 ("post-spin", NULL, NULL, 0, G_USEC_PER_SEC, DEFAULT_POST_SPIN_USEC,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_pool_init (TetherPool *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_cond_init (&self->room);
  self->debug_flags = (int) tether_debug_get_default_flags ();
  self->slow_threshold = tether_debug_get_default_slow_threshold ();
  self->post_spin = DEFAULT_POST_SPIN_USEC;
  g_queue_init (&self->queue);
  self->hot = g_aligned_alloc0 (1, sizeof (PoolHot), TETHER_CACHELINE);
}

/* Public API */

/**
 * tether_pool_new:
 * @id: (nullable): the pool's name, or %NULL for a unique one
 * @n_threads: how many threads, at most 1024; 0 for one per processor
 *
 * Makes a pool, not yet started: see [method@Tether.Pool.start].
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a new [class@Tether.Pool]
 *
 * Since: 1.0
 */
TetherPool *
tether_pool_new (const char *id,
                 guint       n_threads)
{
  g_return_val_if_fail (n_threads <= 1024, NULL);

  return g_object_new (TETHER_TYPE_POOL, "id", id, "n-threads", n_threads, NULL);
}

/**
 * tether_pool_get_id:
 * @self: a [class@Tether.Pool]
 *
 * Gets the pool's name.
 *
 * Thread: any thread.
 *
 * Returns: the [property@Tether.Pool:id]
 *
 * Since: 1.0
 */
const char *
tether_pool_get_id (TetherPool *self)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);

  return self->id;
}

/**
 * tether_pool_get_n_threads:
 * @self: a [class@Tether.Pool]
 *
 * Gets how many threads the pool runs while started.
 *
 * Thread: any thread.
 *
 * Returns: the [property@Tether.Pool:n-threads]
 *
 * Since: 1.0
 */
guint
tether_pool_get_n_threads (TetherPool *self)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  return self->n_threads;
}

/**
 * tether_pool_is_running:
 * @self: a [class@Tether.Pool]
 *
 * Checks whether the pool accepts work: started, and no stop has begun.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if submissions are accepted
 *
 * Since: 1.0
 */
gboolean
tether_pool_is_running (TetherPool *self)
{
  gboolean running;

  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);

  g_mutex_lock (&self->lock);
  running = self->running;
  g_mutex_unlock (&self->lock);
  return running;
}

/**
 * tether_pool_get_max_pending:
 * @self: a [class@Tether.Pool]
 *
 * Gets the [property@Tether.Pool:max-pending] bound.
 *
 * Thread: any thread.
 *
 * Returns: the bound; 0 for none
 *
 * Since: 1.0
 */
guint
tether_pool_get_max_pending (TetherPool *self)
{
  guint max_pending;

  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  g_mutex_lock (&self->lock);
  max_pending = self->max_pending;
  g_mutex_unlock (&self->lock);
  return max_pending;
}

/**
 * tether_pool_set_max_pending:
 * @self: a [class@Tether.Pool]
 * @max_pending: how many submissions may wait in the queue; 0 for no bound
 *
 * Sets the [property@Tether.Pool:max-pending] bound.
 *
 * Thread: any thread; takes effect for the next submission.
 *
 * Since: 1.0
 */
void
tether_pool_set_max_pending (TetherPool *self,
                             guint       max_pending)
{
  gboolean changed;

  g_return_if_fail (TETHER_IS_POOL (self));

  g_mutex_lock (&self->lock);
  changed = self->max_pending != max_pending;
  self->max_pending = max_pending;
  update_open_locked (self);
  /* A raised bound may make room. */
  room_made_locked (self);
  g_mutex_unlock (&self->lock);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_MAX_PENDING]);
}

/* A gint64 setting of the pool, read under its lock. */
static gint64
read_locked (TetherPool   *self,
             const gint64 *field)
{
  gint64 ret;

  g_mutex_lock (&self->lock);
  ret = *field;
  g_mutex_unlock (&self->lock);
  return ret;
}

/* Sets a gint64 setting under the lock; whether it changed. Submissions
 * waiting for room recheck (a submit-timeout change concerns them). */
static gboolean
write_locked (TetherPool *self,
              gint64     *field,
              gint64      value)
{
  gboolean changed;

  g_mutex_lock (&self->lock);
  changed = *field != value;
  *field = value;
  room_made_locked (self);
  g_mutex_unlock (&self->lock);
  return changed;
}

/**
 * tether_pool_get_submit_timeout:
 * @self: a [class@Tether.Pool]
 *
 * Gets [property@Tether.Pool:submit-timeout].
 *
 * Thread: any thread.
 *
 * Returns: microseconds; 0 refuses at once, -1 waits without limit
 *
 * Since: 1.0
 */
gint64
tether_pool_get_submit_timeout (TetherPool *self)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  return read_locked (self, &self->submit_timeout);
}

/**
 * tether_pool_set_submit_timeout:
 * @self: a [class@Tether.Pool]
 * @timeout_usec: how long a submission waits for room in a full queue, in
 *   microseconds: 0 refuses at once with %TETHER_ERROR_BUSY, -1 waits
 *   without limit
 *
 * Sets [property@Tether.Pool:submit-timeout].
 *
 * Thread: any thread; submissions already waiting keep the deadline they
 * computed when they began to wait (a change to or from 0 applies to them
 * when they next wake).
 *
 * Since: 1.0
 */
void
tether_pool_set_submit_timeout (TetherPool *self,
                                gint64      timeout_usec)
{
  g_return_if_fail (TETHER_IS_POOL (self));
  g_return_if_fail (timeout_usec >= -1);

  if (write_locked (self, &self->submit_timeout, timeout_usec))
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_SUBMIT_TIMEOUT]);
}

/* Outside the pool lock (a manager's notify may run binding code): the
 * threads' managers take the pool's debug settings. */
static void
apply_debug_settings (TetherPool *self)
{
  g_autoptr(GPtrArray) managers = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 slow_threshold;

  g_mutex_lock (&self->lock);
  if (self->started)
    for (guint i = 0; i < self->n_threads; i++)
      g_ptr_array_add (managers, g_object_ref (self->workers[i].manager));
  slow_threshold = self->slow_threshold;
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < managers->len; i++)
    {
      tether_loop_manager_set_debug_flags (managers->pdata[i],
                                           (TetherDebugFlags) g_atomic_int_get (&self->debug_flags));
      tether_loop_manager_set_slow_threshold (managers->pdata[i], slow_threshold);
    }
}

/**
 * tether_pool_get_debug_flags:
 * @self: a [class@Tether.Pool]
 *
 * Gets [property@Tether.Pool:debug-flags].
 *
 * Thread: any thread.
 *
 * Returns: the [flags@Tether.DebugFlags] in effect
 *
 * Since: 1.0
 */
TetherDebugFlags
tether_pool_get_debug_flags (TetherPool *self)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), TETHER_DEBUG_FLAGS_NONE);

  return (TetherDebugFlags) g_atomic_int_get (&self->debug_flags);
}

/**
 * tether_pool_set_debug_flags:
 * @self: a [class@Tether.Pool]
 * @flags: what to report
 *
 * Sets [property@Tether.Pool:debug-flags], on the pool and on its threads'
 * managers.
 *
 * Thread: any thread; takes effect for work that starts afterwards.
 *
 * Since: 1.0
 */
void
tether_pool_set_debug_flags (TetherPool       *self,
                             TetherDebugFlags  flags)
{
  g_return_if_fail (TETHER_IS_POOL (self));

  if ((TetherDebugFlags) g_atomic_int_exchange (&self->debug_flags, (int) flags) == flags)
    return;
  apply_debug_settings (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_DEBUG_FLAGS]);
}

/**
 * tether_pool_get_slow_threshold:
 * @self: a [class@Tether.Pool]
 *
 * Gets [property@Tether.Pool:slow-threshold].
 *
 * Thread: any thread.
 *
 * Returns: microseconds
 *
 * Since: 1.0
 */
gint64
tether_pool_get_slow_threshold (TetherPool *self)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  return read_locked (self, &self->slow_threshold);
}

/**
 * tether_pool_set_slow_threshold:
 * @self: a [class@Tether.Pool]
 * @threshold_usec: how long one work function may run, in microseconds,
 *   before %TETHER_DEBUG_FLAGS_SLOW reports it (>= 0)
 *
 * Sets [property@Tether.Pool:slow-threshold], on the pool's threads'
 * managers too.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_pool_set_slow_threshold (TetherPool *self,
                                gint64      threshold_usec)
{
  g_return_if_fail (TETHER_IS_POOL (self));
  g_return_if_fail (threshold_usec >= 0);

  if (!write_locked (self, &self->slow_threshold, threshold_usec))
    return;
  apply_debug_settings (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_SLOW_THRESHOLD]);
}

/**
 * tether_pool_get_post_spin:
 * @self: a [class@Tether.Pool]
 *
 * Gets [property@Tether.Pool:post-spin].
 *
 * Thread: any thread.
 *
 * Returns: microseconds; 0 if the watch is off
 *
 * Since: 1.0
 */
gint64
tether_pool_get_post_spin (TetherPool *self)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  return g_atomic_int_get (&self->post_spin);
}

/**
 * tether_pool_set_post_spin:
 * @self: a [class@Tether.Pool]
 * @spin_usec: how long a thread that ran posts watches an empty queue, in
 *   microseconds, at most one second; 0 turns the watch off
 *
 * Sets [property@Tether.Pool:post-spin].
 *
 * Thread: any thread; a watch under way keeps the length it began with.
 *
 * Since: 1.0
 */
void
tether_pool_set_post_spin (TetherPool *self,
                           gint64      spin_usec)
{
  g_return_if_fail (TETHER_IS_POOL (self));
  g_return_if_fail (spin_usec >= 0 && spin_usec <= G_USEC_PER_SEC);

  if (g_atomic_int_exchange (&self->post_spin, (int) spin_usec) != (int) spin_usec)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_POST_SPIN]);
}

/**
 * tether_pool_get_n_pending:
 * @self: a [class@Tether.Pool]
 *
 * Counts the submissions waiting in the pool's queue for a thread to be
 * idle. Work handed to a thread is not counted.
 *
 * Thread: any thread; the count may be out of date as soon as it returns.
 *
 * Returns: the number of queued submissions
 *
 * Since: 1.0
 */
guint
tether_pool_get_n_pending (TetherPool *self)
{
  guint n;

  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  g_mutex_lock (&self->lock);
  flush_inbox_locked (self);
  n = g_queue_get_length (&self->queue);
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * tether_pool_get_n_idle:
 * @self: a [class@Tether.Pool]
 *
 * Counts the pool's threads that have no job of the pool: 0 while stopped.
 * A thread whose work function returned but kept its [class@Tether.Work]
 * to end later is idle.
 *
 * Thread: any thread; the count may be out of date as soon as it returns.
 *
 * Returns: the number of idle threads
 *
 * Since: 1.0
 */
guint
tether_pool_get_n_idle (TetherPool *self)
{
  guint n;

  g_return_val_if_fail (TETHER_IS_POOL (self), 0);

  g_mutex_lock (&self->lock);
  n = self->started ? (guint) self->hot->n_idle : 0;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * tether_pool_ref_thread:
 * @self: a [class@Tether.Pool]
 * @index: which thread, below [property@Tether.Pool:n-threads]
 *
 * Gets the manager of one of the pool's threads, to submit work that must
 * run on that thread (most often the thread work is running on: use
 * [func@Tether.LoopManager.ref_current] from inside the work). Work
 * submitted to it directly is queued on that thread only, ahead of nothing
 * of the pool's: the pool hands that thread its next job once the job it
 * has returns.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the thread's manager, or %NULL if the
 *   pool has never been started
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_pool_ref_thread (TetherPool *self,
                        guint       index)
{
  TetherLoopManager *manager = NULL;

  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);
  g_return_val_if_fail (index < self->n_threads, NULL);

  g_mutex_lock (&self->lock);
  if (self->workers != NULL)
    manager = g_object_ref (self->workers[index].manager);
  g_mutex_unlock (&self->lock);
  return manager;
}

/**
 * tether_pool_start:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the only task type the pool accepts, or %NULL for
 *   any
 * @error: return location for an error
 *
 * Starts the pool's threads, each a [class@Tether.LoopManager] named
 * `<id>/<n>` and started with @task_type. A stopped pool starts again with
 * new threads.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE once the threads run; %FALSE with
 *   %TETHER_ERROR_ALREADY_RUNNING if the pool runs or is stopping
 *
 * Since: 1.0
 */
gboolean
tether_pool_start (TetherPool  *self,
                   const char  *task_type,
                   GError     **error)
{
  Worker *workers;

  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  workers = g_new0 (Worker, self->n_threads);
  for (guint i = 0; i < self->n_threads; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%u", self->id, i);

      workers[i].manager = tether_loop_manager_new (name);
      tether_loop_manager_set_debug_flags (workers[i].manager,
                                           tether_pool_get_debug_flags (self));
      tether_loop_manager_set_slow_threshold (workers[i].manager,
                                              tether_pool_get_slow_threshold (self));
      tether_pool_mark_thread (self, workers[i].manager);
      if (!tether_loop_manager_start (workers[i].manager, task_type, error))
        {
          for (guint j = 0; j <= i; j++)
            {
              tether_loop_manager_stop (workers[j].manager, TETHER_STOP_MODE_CANCEL);
              g_object_unref (workers[j].manager);
            }
          g_free (workers);
          return FALSE;
        }
    }

  g_mutex_lock (&self->lock);
  if (self->started || self->n_stopping > 0)
    {
      g_mutex_unlock (&self->lock);
      for (guint i = 0; i < self->n_threads; i++)
        {
          tether_loop_manager_stop (workers[i].manager, TETHER_STOP_MODE_DRAIN);
          g_object_unref (workers[i].manager);
        }
      g_free (workers);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING,
                   _("Pool '%s' is already running or stopping; call Pool.stop() and wait for it "
                     "to return before starting it again"),
                   self->id);
      return FALSE;
    }
  if (self->workers != NULL)
    for (guint i = 0; i < self->n_threads; i++)
      g_clear_object (&self->workers[i].manager);
  g_free (self->workers);
  self->workers = workers;
  g_atomic_int_set (&self->hot->n_idle, (int) self->n_threads);
  g_free (self->task_type);
  self->task_type = g_strdup (task_type);
  self->started = TRUE;
  set_running_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/**
 * tether_pool_stop:
 * @self: a [class@Tether.Pool]
 * @mode: what happens to work not yet run
 *
 * Stops accepting work at once, then ends what was accepted and stops the
 * threads, returning once they have exited:
 *
 * - %TETHER_STOP_MODE_DRAIN runs everything queued and waits for it, and
 *   for work that returns later through its [class@Tether.Work];
 * - %TETHER_STOP_MODE_CANCEL ends queued work cancelled (it never runs) and
 *   fires the cancellable of running work, then waits for it to return.
 *   Queued work is ended on the calling thread, one item after another: a
 *   pool whose submitters outran its threads, without
 *   [property@Tether.Pool:max-pending], may hold millions of items, and
 *   the stop then takes a fraction of a microsecond for each.
 *
 * When it returns, the `func_data_destroy` of every submission the stop
 * ended (timers not yet due included) has run, in either mode.
 *
 * A stop in CANCEL mode while another stop drains hurries that one along:
 * both return once the threads have exited. Stopping a pool that is not
 * running does nothing.
 *
 * Thread: any thread but the pool's own (a DRAIN stop from one of its
 * threads would wait for that thread); from one of them it is a
 * programmer error.
 *
 * Since: 1.0
 */
void
tether_pool_stop (TetherPool     *self,
                  TetherStopMode  mode)
{
  g_return_if_fail (TETHER_IS_POOL (self));

  pool_stop_full (self, mode, G_MAXUINT, NULL);
}

/* The stop, from a thread that is not the pool's. With @task, a
 * stop_async() made on thread @last of the pool: @task is returned once the
 * other threads have exited, and thread @last is stopped after that, so that
 * its context (where the callback runs) still runs the callback. Returns
 * whether it returned @task. */
static gboolean
pool_stop_full (TetherPool     *self,
                TetherStopMode  mode,
                guint           last,
                GTask          *task)
{
  g_autoptr(GPtrArray) managers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TetherLoopManager) timers = NULL;
  GQueue cancelled = G_QUEUE_INIT;
  guint me;

  g_mutex_lock (&self->lock);
  if (!self->started)
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (current_worker (self, &me))
    {
      g_mutex_unlock (&self->lock);
      g_critical ("Pool.stop() called on a thread of pool '%s', which it would wait for; stop "
                  "the pool from another thread", self->id);
      return FALSE;
    }
  set_running_locked (self, FALSE);
  self->n_stopping++;
  timers = g_steal_pointer (&self->timers);
  /* Submissions waiting for room fail now. */
  g_cond_broadcast (&self->room);
  g_mutex_unlock (&self->lock);
  wait_admissions (self);

  /* Timers not yet due end cancelled, in either mode, as a manager's do;
   * those that came due before this are in the queue. */
  if (timers != NULL)
    tether_loop_manager_stop (timers, TETHER_STOP_MODE_CANCEL);

  g_mutex_lock (&self->lock);
  flush_inbox_locked (self);
  if (mode == TETHER_STOP_MODE_CANCEL)
    {
      for (GList *l = self->queue.head; l != NULL; l = l->next)
        ((PoolItem *) l->data)->state = ITEM_DONE;
      self->n_ended_queued += self->queue.length;
      cancelled = self->queue;
      g_queue_init (&self->queue);
    }
  for (guint i = 0; i < self->n_threads; i++)
    g_ptr_array_add (managers, g_object_ref (self->workers[i].manager));
  g_mutex_unlock (&self->lock);

  /* CANCEL: queued work ends cancelled, the threads' work is cancelled. */
  if (cancelled.head != NULL)
    {
      g_autoptr(GError) stopped = cancelled_error (self, "the pool was stopped with "
                                                         "TETHER_STOP_MODE_CANCEL");

      for (GList *l = cancelled.head, *next; l != NULL; l = next)
        {
          PoolItem *item = l->data;

          next = l->next;
          if (g_atomic_int_get (&self->debug_flags) & TETHER_DEBUG_FLAGS_DROPPED)
            item_log_dropped (item);
          item_end_cancelled (item, stopped);
          item_unref (item);
        }
    }
  if (mode == TETHER_STOP_MODE_CANCEL)
    for (guint i = 0; i < managers->len; i++)
      if (i != last)
        tether_loop_manager_stop (managers->pdata[i], TETHER_STOP_MODE_CANCEL);

  /* DRAIN: the queue empties as threads go idle; then every thread is. */
  g_mutex_lock (&self->lock);
  for (;;)
    {
      flush_inbox_locked (self);
      if (!self->started ||
          (g_queue_is_empty (&self->queue) && (guint) self->hot->n_idle == self->n_threads))
        break;
      g_cond_wait (&self->cond, &self->lock);
    }
  g_mutex_unlock (&self->lock);

  /* Work kept to end later still runs: the managers' DRAIN waits for it. */
  for (guint i = 0; i < managers->len; i++)
    if (i != last)
      {
        tether_loop_manager_stop (managers->pdata[i], mode);
        tether_pool_mark_thread (NULL, managers->pdata[i]);
      }
  if (last < managers->len)
    {
      /* Its callback is an idle in the context of thread @last, which a
       * stop lets run before the thread exits. */
      g_task_return_boolean (task, TRUE);
      tether_loop_manager_stop (managers->pdata[last], mode);
      tether_pool_mark_thread (NULL, managers->pdata[last]);
    }

  wait_helper_releases ();

  g_mutex_lock (&self->lock);
  self->started = FALSE;
  self->n_stopping--;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return last < managers->len;
}

/* stop_within(): the deadline, enforced from a thread of its own by a
 * CANCEL stop, which hurries the DRAIN stop along. */
typedef struct
{
  TetherPool *pool;
  gint64      deadline;
  GMutex      lock;
  GCond       cond;
  gboolean    done;
} Deadline;

static gpointer
deadline_thread (gpointer data)
{
  Deadline *deadline = data;
  gboolean passed = FALSE;

  g_mutex_lock (&deadline->lock);
  while (!deadline->done && !passed)
    passed = !g_cond_wait_until (&deadline->cond, &deadline->lock, deadline->deadline);
  passed = passed && !deadline->done;
  g_mutex_unlock (&deadline->lock);

  if (passed)
    tether_pool_stop (deadline->pool, TETHER_STOP_MODE_CANCEL);
  return NULL;
}

/**
 * tether_pool_stop_within:
 * @self: a [class@Tether.Pool]
 * @timeout_usec: how long the drain may take, in microseconds; -1 for no
 *   limit (then this is [method@Tether.Pool.stop] with
 *   %TETHER_STOP_MODE_DRAIN, plus the counts)
 * @n_ran: (out) (optional): return location for how many submissions ran
 * @n_cancelled: (out) (optional): return location for how many ended cancelled
 * @error: return location for an error
 *
 * Stops the pool in %TETHER_STOP_MODE_DRAIN, with a deadline: whatever has
 * not finished @timeout_usec after the call is cancelled, as by a
 * %TETHER_STOP_MODE_CANCEL stop (queued work ends cancelled without
 * running, running work sees its cancellable fire). Then it waits for the
 * threads to exit, as [method@Tether.Pool.stop] does: work that ignores its
 * cancellable keeps the stop waiting past the deadline.
 *
 * The counts cover the submissions and posts that ended while this ran:
 * @n_ran those that ran and ended with a value or an error of their own
 * (posts that ran included), @n_cancelled those that ended cancelled
 * (timers not yet due, queued work the deadline caught, running work that
 * answered its cancellable). Stopping a stopped pool counts nothing.
 *
 * Thread: any thread but the pool's own, where it would wait for itself:
 * there it fails with %TETHER_ERROR_WOULD_DEADLOCK and stops nothing.
 *
 * Returns: %TRUE once the pool has stopped; %FALSE with
 *   %TETHER_ERROR_WOULD_DEADLOCK, or %TETHER_ERROR_FAILED if no thread
 *   could be started to keep the deadline (nothing is stopped then)
 *
 * Since: 1.0
 */
gboolean
tether_pool_stop_within (TetherPool  *self,
                         gint64       timeout_usec,
                         guint       *n_ran,
                         guint       *n_cancelled,
                         GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  Deadline deadline = { self, 0, { 0 }, { 0 }, FALSE };
  GThread *thread = NULL;
  gboolean started, on_thread;
  int ran, cancelled;
  guint me;

  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_ran != NULL)
    *n_ran = 0;
  if (n_cancelled != NULL)
    *n_cancelled = 0;

  g_mutex_lock (&self->lock);
  on_thread = current_worker (self, &me);
  started = self->started;
  g_mutex_unlock (&self->lock);
  if (on_thread)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   _("Pool.stop_within() on a thread of pool '%s' would wait for itself; nothing "
                     "was stopped: call Pool.stop_async() there, or stop the pool from another "
                     "thread"),
                   self->id);
      return FALSE;
    }
  if (!started)
    return TRUE;

  ran = g_atomic_int_get (&self->n_ended_ran);
  cancelled = g_atomic_int_get (&self->n_ended_cancelled);
  if (timeout_usec >= 0)
    {
      gint64 now = g_get_monotonic_time ();

      deadline.deadline = timeout_usec > G_MAXINT64 - now ? G_MAXINT64 : now + timeout_usec;
      g_mutex_init (&deadline.lock);
      g_cond_init (&deadline.cond);
      thread = g_thread_try_new ("tether-pool-deadline", deadline_thread, &deadline, &local_error);
      if (thread == NULL)
        {
          g_mutex_clear (&deadline.lock);
          g_cond_clear (&deadline.cond);
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_FAILED,
                       _("Pool '%s' could not start a thread to keep the stop's deadline (%s); "
                         "nothing was stopped"),
                       self->id, local_error->message);
          return FALSE;
        }
    }

  tether_pool_stop (self, TETHER_STOP_MODE_DRAIN);

  if (thread != NULL)
    {
      g_mutex_lock (&deadline.lock);
      deadline.done = TRUE;
      g_cond_signal (&deadline.cond);
      g_mutex_unlock (&deadline.lock);
      g_thread_join (thread);
      g_mutex_clear (&deadline.lock);
      g_cond_clear (&deadline.cond);
    }

  if (n_ran != NULL)
    *n_ran = (guint) (g_atomic_int_get (&self->n_ended_ran) - ran);
  if (n_cancelled != NULL)
    *n_cancelled = (guint) (g_atomic_int_get (&self->n_ended_cancelled) - cancelled);
  return TRUE;
}

/**
 * tether_pool_submit:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data on one of the pool's
 *   threads once the work has ended (never inside this call or a cancel;
 *   on a helper thread of Tether's if the pool's threads have stopped), or
 *   before this returns if it is refused
 * @cancellable: (nullable): cancels the work: queued, it never runs; running,
 *   its [method@Tether.Work.get_cancellable] fires
 * @error: return location for an error
 *
 * Queues @func to run on whichever of the pool's threads is idle first, and
 * returns a future for its outcome. Work starts in the order it was
 * submitted; it never runs inside this call. The future is a
 * [class@Tether.Future] like a manager's, completed by the pool: its
 * blocking wait does not spin (see [property@Tether.LoopManager:wait-spin]).
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with
 *   %TETHER_ERROR_NOT_RUNNING, %TETHER_ERROR_UNKNOWN_TASK_TYPE,
 *   %TETHER_ERROR_BUSY (see [property@Tether.Pool:max-pending]) or
 *   %TETHER_ERROR_INVALID_ARGUMENT (a JavaScript function), in which case
 *   @func never runs
 *
 * Since: 1.0
 */
TetherFuture *
tether_pool_submit (TetherPool      *self,
                    const char      *task_type,
                    TetherWorkFunc   func,
                    gpointer         func_data,
                    GDestroyNotify   func_data_destroy,
                    GCancellable    *cancellable,
                    GError         **error)
{
  PoolItem *item;

  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  item = item_new (self, task_type, (gpointer) func, func_data, func_data_destroy, cancellable);
  item->func = func;
  return pool_submit_item (self, item, error);
}

static void
closure_unref (gpointer data)
{
  g_closure_unref (data);
}

/* A binding's closure as a submission, a timer if @is_timer. */
static TetherFuture *
submit_closure (TetherPool    *self,
                const char    *task_type,
                gboolean       is_timer,
                gint64         ready_time,
                GClosure      *closure,
                GCancellable  *cancellable,
                GError       **error)
{
  PoolItem *item;

  if (tether_closure_is_javascript (closure))
    {
      refuse_javascript (self, error);
      return NULL;
    }
  tether_closure_take (closure);
  item = item_new (self, task_type, (gpointer) tether_closure_work, closure, closure_unref, cancellable);
  item->func = tether_closure_work;
  item->is_timer = is_timer;
  item->ready_time = MAX (ready_time, 0);
  return pool_submit_item (self, item, error);
}

/**
 * tether_pool_submit_with_closure:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @closure: the work: called on one of the pool's threads with the
 *   [class@Tether.Work] as its one parameter; it may return %TRUE to say it
 *   has ended the work (a work left open ends with no value then)
 * @cancellable: (nullable): cancels the work, as for [method@Tether.Pool.submit]
 * @error: return location for an error
 *
 * [method@Tether.Pool.submit] for language bindings, which free a
 * [struct@GObject.Closure] properly where some leak a callback's native
 * trampoline per call (PyGObject 3.42 does, about 110 bytes). The pool
 * holds a reference to @closure until the work has ended, and drops it on
 * one of its threads. In a process that hosts GJS, a JavaScript function is
 * refused with %TETHER_ERROR_INVALID_ARGUMENT: GJS runs JavaScript only on
 * its own thread.
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.Pool.submit]
 *
 * Since: 1.0
 */
TetherFuture *
tether_pool_submit_with_closure (TetherPool    *self,
                                 const char    *task_type,
                                 GClosure      *closure,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);
  g_return_val_if_fail (closure != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_closure (self, task_type, FALSE, 0, closure, cancellable, error);
}

/**
 * tether_pool_submit_at_with_closure:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @ready_time: when the work joins the queue, as for [method@Tether.Pool.submit_at]
 * @closure: the work, as for [method@Tether.Pool.submit_with_closure]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.Pool.submit]
 * @error: return location for an error
 *
 * [method@Tether.Pool.submit_at] for language bindings, as
 * [method@Tether.Pool.submit_with_closure] is [method@Tether.Pool.submit]'s.
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.Pool.submit_at]
 *
 * Since: 1.0
 */
TetherFuture *
tether_pool_submit_at_with_closure (TetherPool    *self,
                                    const char    *task_type,
                                    gint64         ready_time,
                                    GClosure      *closure,
                                    GCancellable  *cancellable,
                                    GError       **error)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);
  g_return_val_if_fail (closure != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_closure (self, task_type, TRUE, ready_time, closure, cancellable, error);
}

/* A post: queued, or refused with @func_data released. */
static gboolean
post_func (TetherPool      *self,
           const char      *task_type,
           TetherFunc       func,
           gpointer         func_data,
           GDestroyNotify   func_data_destroy,
           GError         **error)
{
  PoolItem *item = item_new (self, task_type, (gpointer) func, func_data, func_data_destroy, NULL);

  item->post_func = func;
  if (!pool_accept (self, item, error))
    {
      item_unref (item);
      return FALSE;
    }
  return TRUE;
}

/**
 * tether_pool_post_with_closure:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @closure: the work: called with no parameters on one of the pool's
 *   threads; a C closure's callback is a [callback@Tether.Func] given the
 *   closure's data
 * @error: return location for an error
 *
 * [method@Tether.Pool.post] for language bindings, as
 * [method@Tether.Pool.submit_with_closure] is [method@Tether.Pool.submit]'s:
 * a [struct@GObject.Closure], which bindings free properly, instead of a
 * callback, whose native trampoline PyGObject 3.42 leaks per call. The pool
 * holds a reference to @closure until it has run (or was dropped unrun by a
 * CANCEL stop) and drops it on one of its threads. A JavaScript function
 * is refused as by [method@Tether.Pool.submit_with_closure].
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: %TRUE if queued; %FALSE with an error as for
 *   [method@Tether.Pool.post]
 *
 * Since: 1.0
 */
gboolean
tether_pool_post_with_closure (TetherPool  *self,
                               const char  *task_type,
                               GClosure    *closure,
                               GError     **error)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (closure != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_closure_is_javascript (closure))
    return refuse_javascript (self, error);
  tether_closure_take_post (closure);
  return post_func (self, task_type, tether_closure_post, closure, closure_unref, error);
}

/**
 * tether_pool_submit_after:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @delay_usec: how long to wait before the work joins the queue, in
 *   microseconds (>= 0)
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.Pool.submit]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.Pool.submit]
 * @error: return location for an error
 *
 * Like [method@Tether.Pool.submit], but the work joins the pool's queue
 * once @delay_usec has passed, and runs when a thread is free: never before
 * its time, and no later for the pool's threads being busy than any other
 * queued work would be. The pool keeps its timers on a thread of their own
 * (a manager named `<id>/timers`, made at the first timer), so a timer is
 * not held up by long jobs. Timers due together join the queue earliest
 * deadline first, and those with equal deadlines in submission order.
 *
 * [method@Tether.Future.cancel] (or @cancellable) removes a timer not yet
 * due; a stop, in either mode, ends the timers not yet due cancelled, as a
 * manager's does. Timers take no room in the queue until they are due (see
 * [property@Tether.Pool:max-pending]).
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.Pool.submit] (never %TETHER_ERROR_BUSY)
 *
 * Since: 1.0
 */
TetherFuture *
tether_pool_submit_after (TetherPool      *self,
                          const char      *task_type,
                          gint64           delay_usec,
                          TetherWorkFunc   func,
                          gpointer         func_data,
                          GDestroyNotify   func_data_destroy,
                          GCancellable    *cancellable,
                          GError         **error)
{
  gint64 now;

  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);
  g_return_val_if_fail (delay_usec >= 0, NULL);

  now = g_get_monotonic_time ();
  return tether_pool_submit_at (self, task_type,
                                delay_usec > G_MAXINT64 - now ? G_MAXINT64 : now + delay_usec,
                                func, func_data, func_data_destroy, cancellable, error);
}

/**
 * tether_pool_submit_at:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @ready_time: when the work joins the queue, on the g_get_monotonic_time()
 *   clock; a time in the past joins it as soon as possible
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.Pool.submit]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.Pool.submit]
 * @error: return location for an error
 *
 * Like [method@Tether.Pool.submit_after], at a monotonic time.
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.Pool.submit_after]
 *
 * Since: 1.0
 */
TetherFuture *
tether_pool_submit_at (TetherPool      *self,
                       const char      *task_type,
                       gint64           ready_time,
                       TetherWorkFunc   func,
                       gpointer         func_data,
                       GDestroyNotify   func_data_destroy,
                       GCancellable    *cancellable,
                       GError         **error)
{
  PoolItem *item;

  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  item = item_new (self, task_type, (gpointer) func, func_data, func_data_destroy, cancellable);
  item->func = func;
  item->is_timer = TRUE;
  item->ready_time = MAX (ready_time, 0);
  return pool_submit_item (self, item, error);
}

/* A submission: its future, or %NULL if refused. Takes @item. */
static TetherFuture *
pool_submit_item (TetherPool  *self,
                  PoolItem    *item,
                  GError     **error)
{
  TetherFuture *future;

  future = tether_future_new_detached (self->id, future_cancelled, item_ref (item), item_unref);
  tether_future_set_wait_hooks (future, &item_wait_hooks);
  /* As the flag stands at submission: the future outlives the pool's say. */
  if (g_atomic_int_get (&self->debug_flags) & TETHER_DEBUG_FLAGS_UNRETRIEVED)
    {
      g_autofree char *name = tether_debug_describe_func ((gpointer) item->func);

      tether_future_report_unretrieved (future, self->id, item->task_type, name);
    }
  item->future = g_object_ref (future);

  if (!pool_accept (self, item, error))
    {
      g_clear_object (&item->future);
      g_object_unref (future);
      item_unref (item);
      return NULL;
    }
  return future;
}

/**
 * tether_pool_post:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data once @func has run, or
 *   before this returns if it is refused
 * @error: return location for an error
 *
 * Queues @func to run on whichever of the pool's threads is idle first,
 * without a future: fire and forget, in submission order with the pool's
 * other work.
 *
 * Thread: any thread, the pool's own included.
 *
 * Returns: %TRUE if queued; %FALSE with %TETHER_ERROR_NOT_RUNNING,
 *   %TETHER_ERROR_UNKNOWN_TASK_TYPE, %TETHER_ERROR_BUSY or
 *   %TETHER_ERROR_INVALID_ARGUMENT
 *
 * Since: 1.0
 */
gboolean
tether_pool_post (TetherPool      *self,
                  const char      *task_type,
                  TetherFunc       func,
                  gpointer         func_data,
                  GDestroyNotify   func_data_destroy,
                  GError         **error)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return post_func (self, task_type, func, func_data, func_data_destroy, error);
}

/* submit_async(): a future, waited for asynchronously in the caller's
 * context; the task carries the outcome there. */
static void
on_future_waited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TetherFuture *future = TETHER_FUTURE (source);
  GError *error = NULL;
  GValue *value;

  if (!tether_future_wait_finish (future, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  value = dup_future_value (future);
  g_task_return_pointer (task, value, value != NULL ? free_value : NULL);
}

/**
 * tether_pool_submit_async:
 * @self: a [class@Tether.Pool]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.Pool.submit]
 * @io_priority: the priority of the callback's idle in the caller's context
 *   (the pool's queue is FIFO)
 * @cancellable: (nullable): cancels the work, as for [method@Tether.Pool.submit]
 * @callback: (scope async) (closure user_data): called in the caller's
 *   thread-default context when the work has ended
 * @user_data: data for @callback
 *
 * [method@Tether.Pool.submit] reported GIO style: @callback runs in the
 * thread-default context of the thread calling this, never inside this
 * call, and calls [method@Tether.Pool.submit_finish]. A refused submission
 * reaches @callback with its error the same way.
 *
 * Thread: any thread whose thread-default context is running.
 *
 * Since: 1.0
 */
void
tether_pool_submit_async (TetherPool          *self,
                          const char          *task_type,
                          TetherWorkFunc       func,
                          gpointer             func_data,
                          GDestroyNotify       func_data_destroy,
                          int                  io_priority,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(TetherFuture) future = NULL;
  GError *error = NULL;
  GTask *task;

  g_return_if_fail (TETHER_IS_POOL (self));
  g_return_if_fail (func != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_pool_submit_async);
  g_task_set_priority (task, io_priority);
  g_task_set_name (task, "[tether] pool submit");
  /* The work's outcome wins over a late cancellation. */
  g_task_set_check_cancellable (task, FALSE);

  future = tether_pool_submit (self, task_type, func, func_data, func_data_destroy, cancellable,
                               &error);
  if (future == NULL)
    {
      /* GTask defers the callback: it never runs inside this call. */
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  tether_future_wait_async (future, NULL, on_future_waited, task);
}

/**
 * tether_pool_submit_finish:
 * @self: a [class@Tether.Pool]
 * @result: the result passed to the callback
 * @value: (out caller-allocates) (optional): an uninitialized #GValue, always
 *   initialized by this: to the work's value when it succeeded with one,
 *   else to a %G_TYPE_POINTER holding %NULL
 * @error: return location for an error
 *
 * Finishes [method@Tether.Pool.submit_async].
 *
 * Thread: the thread that called [method@Tether.Pool.submit_async].
 *
 * Returns: %TRUE if the work succeeded; %FALSE with the work's error, a
 *   %G_IO_ERROR_CANCELLED error, or the submission's refusal
 *
 * Since: 1.0
 */
gboolean
tether_pool_submit_finish (TetherPool    *self,
                           GAsyncResult  *result,
                           GValue        *value,
                           GError       **error)
{
  GValue *result_value;
  GError *local_error = NULL;

  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_pool_submit_async, FALSE);
  g_return_val_if_fail (value == NULL || !G_IS_VALUE (value), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (value != NULL)
    g_value_init (value, G_TYPE_POINTER);
  result_value = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (result_value != NULL)
    {
      if (value != NULL)
        {
          g_value_unset (value);
          *value = *result_value;         /* moved */
          g_free (result_value);
        }
      else
        {
          free_value (result_value);
        }
    }
  return TRUE;
}

/* What a stop_async() runs with: the mode, the pool thread it was called
 * on (G_MAXUINT if none), and the caller's task. The stop runs on a thread
 * of its own, not through g_task_run_in_thread(): a threaded task's
 * callback is held back until its thread function returns, and a stop made
 * on a pool thread must call back before that thread exits, while the stop
 * still runs; a second task to run the thread would complete in the dying
 * thread's context, which nobody would iterate again. */
typedef struct
{
  TetherStopMode  mode;
  guint           caller;
  GTask          *task;
} StopAsync;

static gpointer
stop_thread (gpointer data)
{
  StopAsync *stop = data;
  TetherPool *self = g_task_get_source_object (stop->task);

  if (!pool_stop_full (self, stop->mode, stop->caller, stop->task))
    g_task_return_boolean (stop->task, TRUE);
  g_object_unref (stop->task);
  g_free (stop);
  return NULL;
}

/**
 * tether_pool_stop_async:
 * @self: a [class@Tether.Pool]
 * @mode: what happens to work not yet run, as for [method@Tether.Pool.stop]
 * @cancellable: (nullable): abandons the wait for the stop, not the stop
 * @callback: (scope async) (closure user_data): called in the caller's
 *   thread-default context once the pool's threads have exited
 * @user_data: data for @callback
 *
 * [method@Tether.Pool.stop] without blocking: the pool refuses new work at
 * once (before this returns), and the stop runs on a thread of its own;
 * @callback calls [method@Tether.Pool.stop_finish]. A CANCEL stop
 * (blocking or not) during a DRAIN one hurries it along.
 *
 * Called on one of the pool's threads (from its work, say), @callback runs
 * on that thread, in its context, as the stop ends: once every other
 * thread has exited and the pool's work is done, just before that thread
 * exits in turn.
 *
 * Thread: any thread whose thread-default context is running, the pool's
 * own threads included.
 *
 * Since: 1.0
 */
void
tether_pool_stop_async (TetherPool          *self,
                        TetherStopMode       mode,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GError) error = NULL;
  StopAsync *stop;
  GThread *thread;

  g_return_if_fail (TETHER_IS_POOL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  stop = g_new (StopAsync, 1);
  stop->mode = mode;
  /* Refused from now on, as the blocking stop does before it waits. */
  g_mutex_lock (&self->lock);
  set_running_locked (self, FALSE);
  if (!current_worker (self, &stop->caller))
    stop->caller = G_MAXUINT;
  g_mutex_unlock (&self->lock);

  stop->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (stop->task, tether_pool_stop_async);
  g_task_set_name (stop->task, "[tether] pool stop");
  thread = g_thread_try_new ("tether-pool-stop", stop_thread, stop, &error);
  if (thread == NULL)
    {
      /* The pool refuses work already; the threads stay until a stop. */
      g_task_return_new_error (stop->task, TETHER_ERROR, TETHER_ERROR_FAILED,
                               _("Pool '%s' could not start a thread to stop on (%s); call "
                                 "Pool.stop() from a thread that may block"),
                               self->id, error->message);
      g_object_unref (stop->task);
      g_free (stop);
      return;
    }
  g_thread_unref (thread);
}

/**
 * tether_pool_stop_finish:
 * @self: a [class@Tether.Pool]
 * @result: the [iface@Gio.AsyncResult] given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Tether.Pool.stop_async].
 *
 * Thread: the thread that called [method@Tether.Pool.stop_async].
 *
 * Returns: %TRUE once the pool has stopped; %FALSE with
 *   %G_IO_ERROR_CANCELLED if the wait was abandoned (the stop goes on), or
 *   %TETHER_ERROR_FAILED if no thread could be started to stop on (the
 *   pool refuses work, and its threads stay until a blocking stop)
 *
 * Since: 1.0
 */
gboolean
tether_pool_stop_finish (TetherPool    *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_pool_stop_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tether_pool_dup_stats:
 * @self: a [class@Tether.Pool]
 *
 * Takes a snapshot of the pool as the `a{sv}` of
 * [method@Tether.LoopManager.dup_stats], summed over its threads' managers,
 * for the counters that add up: `submitted`, `completed`, `failed`,
 * `cancelled` and `rejected` (`t`), `queued` and `running` (`u`). Work
 * waiting in the pool's own queue counts as submitted and queued, and work
 * that ended there (cancelled before a thread took it) as submitted and
 * cancelled. `threads` (`u`) and `idle` (`u`) say how many threads the pool
 * has and how many have no job. Each thread's own figures (latencies,
 * wake-ups) are its manager's: see [method@Tether.Pool.ref_thread].
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a new `a{sv}` [struct@GLib.Variant], not floating
 *
 * Since: 1.0
 */
GVariant *
tether_pool_dup_stats (TetherPool *self)
{
  static const char *const counters[] = { "submitted", "completed", "failed", "cancelled",
                                          "rejected" };
  guint64 sums[G_N_ELEMENTS (counters)] = { 0 };
  guint32 queued, running = 0, idle;
  g_autoptr(GPtrArray) managers = g_ptr_array_new_with_free_func (g_object_unref);
  GVariantBuilder builder;

  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);

  g_mutex_lock (&self->lock);
  flush_inbox_locked (self);
  queued = g_queue_get_length (&self->queue);
  idle = self->started ? (guint32) self->hot->n_idle : 0;
  sums[0] = queued + self->n_ended_queued;
  sums[3] = self->n_ended_queued;
  sums[4] = (guint64) g_atomic_pointer_get (&self->n_refused);
  if (self->workers != NULL)
    for (guint i = 0; i < self->n_threads; i++)
      g_ptr_array_add (managers, g_object_ref (self->workers[i].manager));
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < managers->len; i++)
    {
      g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (managers->pdata[i]);
      guint32 value32;

      for (guint c = 0; c < G_N_ELEMENTS (counters); c++)
        {
          guint64 value = 0;

          if (g_variant_lookup (stats, counters[c], "t", &value))
            sums[c] += value;
        }
      if (g_variant_lookup (stats, "queued", "u", &value32))
        queued += value32;
      if (g_variant_lookup (stats, "running", "u", &value32))
        running += value32;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (guint c = 0; c < G_N_ELEMENTS (counters); c++)
    g_variant_builder_add (&builder, "{sv}", counters[c], g_variant_new_uint64 (sums[c]));
  g_variant_builder_add (&builder, "{sv}", "queued", g_variant_new_uint32 (queued));
  g_variant_builder_add (&builder, "{sv}", "running", g_variant_new_uint32 (running));
  g_variant_builder_add (&builder, "{sv}", "threads", g_variant_new_uint32 (self->n_threads));
  g_variant_builder_add (&builder, "{sv}", "idle", g_variant_new_uint32 (idle));
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* TetherExecutor: the pool's own methods. */
static TetherFuture *
executor_submit (TetherExecutor  *executor,
                 const char      *task_type,
                 TetherWorkFunc   func,
                 gpointer         func_data,
                 GDestroyNotify   func_data_destroy,
                 GCancellable    *cancellable,
                 GError         **error)
{
  return tether_pool_submit (TETHER_POOL (executor), task_type, func, func_data,
                             func_data_destroy, cancellable, error);
}

static gboolean
executor_post (TetherExecutor  *executor,
               const char      *task_type,
               TetherFunc       func,
               gpointer         func_data,
               GDestroyNotify   func_data_destroy,
               GError         **error)
{
  return tether_pool_post (TETHER_POOL (executor), task_type, func, func_data, func_data_destroy,
                           error);
}

static void
executor_submit_async (TetherExecutor      *executor,
                       const char          *task_type,
                       TetherWorkFunc       func,
                       gpointer             func_data,
                       GDestroyNotify       func_data_destroy,
                       int                  io_priority,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  tether_pool_submit_async (TETHER_POOL (executor), task_type, func, func_data,
                            func_data_destroy, io_priority, cancellable, callback, user_data);
}

static gboolean
executor_submit_finish (TetherExecutor  *executor,
                        GAsyncResult    *result,
                        GValue          *value,
                        GError         **error)
{
  return tether_pool_submit_finish (TETHER_POOL (executor), result, value, error);
}

static void
tether_pool_executor_init (TetherExecutorInterface *iface)
{
  iface->submit = executor_submit;
  iface->post = executor_post;
  iface->submit_async = executor_submit_async;
  iface->submit_finish = executor_submit_finish;
}

/* The registry's side (tether-registry.c) and "the current pool". */

gboolean
tether_pool_ensure_started (TetherPool  *self,
                            const char  *task_type,
                            GError     **error)
{
  g_return_val_if_fail (TETHER_IS_POOL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Checked first under the lock, so that the usual call, on a running
   * pool, makes no threads; a start that loses a race to another one
   * fails with ALREADY_RUNNING, and the loop looks again. */
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      guint me;

      g_mutex_lock (&self->lock);
      while (self->n_stopping > 0)
        {
          if (current_worker (self, &me))
            {
              g_mutex_unlock (&self->lock);
              g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING,
                           _("Pool '%s' is stopping, and this is one of its threads, which the "
                             "stop waits for; call Pool.get_or_start() from another thread"),
                           self->id);
              return FALSE;
            }
          g_cond_wait (&self->cond, &self->lock);
        }
      if (self->running)
        {
          g_autofree char *running_type = NULL;

          if (g_strcmp0 (self->task_type, task_type) == 0)
            {
              g_mutex_unlock (&self->lock);
              return TRUE;
            }
          running_type = g_strdup (self->task_type);
          g_mutex_unlock (&self->lock);
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                       _("Pool '%s' already runs with task type '%s', not '%s'; use another "
                         "id, or stop the pool before starting it with another task type"),
                       self->id, running_type ? running_type : "(any)",
                       task_type ? task_type : "(any)");
          return FALSE;
        }
      g_mutex_unlock (&self->lock);

      if (tether_pool_start (self, task_type, &local_error))
        return TRUE;
      if (!g_error_matches (local_error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
}

char *
tether_pool_dup_task_type (TetherPool *self)
{
  char *task_type;

  g_return_val_if_fail (TETHER_IS_POOL (self), NULL);

  g_mutex_lock (&self->lock);
  task_type = g_strdup (self->task_type);
  g_mutex_unlock (&self->lock);
  return task_type;
}

/* A thread's manager points back at its pool with a weak reference: the
 * pool may be finalized on any thread, its own included (see dispose()),
 * and a plain pointer would then dangle under a racing ref_current(). */
static GQuark
pool_of_thread_quark (void)
{
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("tether-pool-of-thread"));
  return (GQuark) quark;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

void
tether_pool_mark_thread (TetherPool        *self,
                         TetherLoopManager *manager)
{
  GWeakRef *ref = g_object_get_qdata (G_OBJECT (manager), pool_of_thread_quark ());

  /* Made once, before the thread starts, and only ever set after: code on
   * the thread reads it without a lock of ours. */
  if (ref != NULL)
    {
      g_weak_ref_set (ref, self);
      return;
    }
  if (self == NULL)
    return;
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  g_object_set_qdata_full (G_OBJECT (manager), pool_of_thread_quark (), ref, weak_ref_free);
}

/**
 * tether_pool_ref_current:
 *
 * Gets the pool whose thread is calling: inside work the pool runs, or any
 * code running on one of its threads (an idle, a GIO callback, work
 * submitted to the thread's manager from [method@Tether.Pool.ref_thread]).
 * This is the pool counterpart of [func@Tether.LoopManager.ref_current],
 * which returns that thread's own manager.
 *
 * ```c
 * static void
 * split_work (TetherWork *work,
 *             gpointer    user_data)
 * {
 *   g_autoptr(TetherPool) pool = tether_pool_ref_current ();
 *
 *   // Hand the second half to whichever thread of this pool is idle.
 *   if (pool != NULL)
 *     tether_pool_post (pool, NULL, hash_half, half, g_free, NULL);
 *   ...
 * }
 * ```
 *
 * Once the pool has stopped, its threads are gone; once its last reference
 * has been dropped (even from inside its own work), this returns %NULL on
 * threads that are still finishing up.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the pool running on this thread, or
 *   %NULL on a thread that is not a pool's (the main thread, a plain
 *   manager's, a thread of your own)
 *
 * Since: 1.0
 */
TetherPool *
tether_pool_ref_current (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_ref_current ();
  GWeakRef *ref;

  if (manager == NULL)
    return NULL;
  ref = g_object_get_qdata (G_OBJECT (manager), pool_of_thread_quark ());
  return ref != NULL ? g_weak_ref_get (ref) : NULL;
}
