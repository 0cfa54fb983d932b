/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "test-util.h"

void
gate_init (Gate *gate)
{
  g_mutex_init (&gate->mutex);
  g_cond_init (&gate->cond);
  gate->entered = gate->open = FALSE;
}

void
gate_clear (Gate *gate)
{
  g_mutex_clear (&gate->mutex);
  g_cond_clear (&gate->cond);
}

void
gate_open (Gate *gate)
{
  g_mutex_lock (&gate->mutex);
  gate->open = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->mutex);
}

/* Tells the test thread that the work has started. */
void
gate_enter (Gate *gate)
{
  g_mutex_lock (&gate->mutex);
  gate->entered = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->mutex);
}

void
gate_wait_open (Gate *gate)
{
  g_mutex_lock (&gate->mutex);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->mutex);
  g_mutex_unlock (&gate->mutex);
}

void
gate_wait_entered (Gate *gate)
{
  g_mutex_lock (&gate->mutex);
  while (!gate->entered)
    g_cond_wait (&gate->cond, &gate->mutex);
  g_mutex_unlock (&gate->mutex);
}

void
block_work (TetherWork *work,
            gpointer    user_data)
{
  Gate *gate = user_data;

  gate_enter (gate);
  g_mutex_lock (&gate->mutex);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->mutex);
  g_mutex_unlock (&gate->mutex);
  tether_work_return_boolean (work, TRUE);
}

TetherLoopManager *
started (const char *id,
         const char *task_type)
{
  g_autoptr(GError) error = NULL;
  TetherLoopManager *manager = tether_loop_manager_new (id);

  g_assert_true (tether_loop_manager_start (manager, task_type, &error));
  g_assert_no_error (error);
  return manager;
}

static void
open_on_cancel (GCancellable *cancellable,
                gpointer      user_data)
{
  gate_open (user_data);
}

void
wait_for_cancel (TetherWork *work,
                 Gate       *gate)
{
  GCancellable *cancellable = tether_work_get_cancellable (work);
  Gate cancelled;
  gulong id;

  gate_init (&cancelled);
  if (gate != NULL)
    gate_enter (gate);
  /* Runs open_on_cancel() at once if it has fired already. */
  id = g_cancellable_connect (cancellable, G_CALLBACK (open_on_cancel), &cancelled, NULL);
  gate_wait_open (&cancelled);
  g_cancellable_disconnect (cancellable, id);
  gate_clear (&cancelled);
}

void
return_when_cancelled (TetherWork *work,
                       gpointer    user_data)
{
  wait_for_cancel (work, user_data);
  tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED, "saw its cancellable");
}

gpointer
stop_thread (gpointer data)
{
  StopArgs *args = data;

  tether_loop_manager_stop (args->manager, args->mode);
  g_assert_false (tether_loop_manager_is_running (args->manager));
  return NULL;
}

static GMutex   watchdog_mutex;
static GCond    watchdog_cond;
static GThread *watchdog_thread;
static gboolean watchdog_armed;

typedef struct
{
  gint64  deadline;
  char   *what;
} Watch;

static gpointer
watchdog_func (gpointer data)
{
  Watch *watch = data;

  g_mutex_lock (&watchdog_mutex);
  while (watchdog_armed)
    if (!g_cond_wait_until (&watchdog_cond, &watchdog_mutex, watch->deadline))
      g_error ("watchdog: %s did not finish in time; it hangs", watch->what);
  g_mutex_unlock (&watchdog_mutex);
  g_free (watch->what);
  g_free (watch);
  return NULL;
}

void
watchdog_arm (guint       seconds,
              const char *what)
{
  Watch *watch = g_new0 (Watch, 1);

  g_assert_null (watchdog_thread);
  watch->deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  watch->what = g_strdup (what);
  watchdog_armed = TRUE;
  watchdog_thread = g_thread_new ("watchdog", watchdog_func, watch);
}

void
watchdog_disarm (void)
{
  g_mutex_lock (&watchdog_mutex);
  watchdog_armed = FALSE;
  g_cond_broadcast (&watchdog_cond);
  g_mutex_unlock (&watchdog_mutex);
  g_thread_join (g_steal_pointer (&watchdog_thread));
}

int
test_run (void)
{
  int ret = g_test_run ();

  g_assert_true (tether_loop_manager_wait_detached (120 * G_USEC_PER_SEC));
  return ret;
}
