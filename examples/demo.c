/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A short tour of Tether. Read it beside its output: each step prints what
 * it shows. */
#include <tether.h>

static void
say (const char *step,
     const char *text)
{
  g_print ("\n== %s\n   %s\n", step, text);
}

/* Work runs on the manager's thread, with the manager's context as the
 * thread-default context. */
static void
square_work (TetherWork *work,
             gpointer    user_data)
{
  int n = GPOINTER_TO_INT (user_data);

  g_print ("   [%s] squaring %d on thread %p\n",
           tether_work_get_manager_id (work), n, (gpointer) g_thread_self ());
  tether_work_return_int (work, n * n);
}

static TetherLoopManager *render_manager;

static gpointer
worker_thread (gpointer data)
{
  TetherLoopManager *manager = render_manager;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = NULL;
  int n = GPOINTER_TO_INT (data);

  /* This thread has no main loop of its own, and needs none. */
  future = tether_loop_manager_submit (manager, "render", square_work,
                                       GINT_TO_POINTER (n), NULL, NULL, &error);
  if (future == NULL || !tether_future_wait (future, -1, NULL, &error))
    g_printerr ("   worker failed: %s\n", error->message);
  else
    g_print ("   worker %p got %d\n", (gpointer) g_thread_self (), tether_future_get_int (future, NULL));
  return NULL;
}

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GMainLoop *loop = user_data;
  GValue value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;

  if (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (object), result, &value, &error))
    {
      g_print ("   callback on the main thread (%p): %d\n",
               (gpointer) g_thread_self (), g_value_get_int (&value));
      g_value_unset (&value);
    }
  else
    g_print ("   callback error: %s\n", error->message);
  g_main_loop_quit (loop);
}

static gboolean
finish_slowly (gpointer data)
{
  tether_work_return_string (data, "done after 50 ms on the manager's loop");
  return G_SOURCE_REMOVE;
}

/* Like a coroutine: starts a timer on the manager's loop and ends later. */
static void
slow_work (TetherWork *work,
           gpointer    user_data)
{
  g_autoptr(GSource) source = g_timeout_source_new (50);

  g_source_set_callback (source, finish_slowly, g_object_ref (work), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
}

typedef struct
{
  TetherLoopManager *manager;
  GError            *error;
} NestedWait;

/* The seed-001 mistake: blocking on your own loop from inside it. */
static void
wait_on_self_work (TetherWork *work,
                   gpointer    user_data)
{
  NestedWait *nested = user_data;
  g_autoptr(TetherFuture) inner = NULL;

  inner = tether_loop_manager_submit (nested->manager, "render", square_work,
                                      GINT_TO_POINTER (3), NULL, NULL, NULL);
  tether_future_wait (inner, -1, NULL, &nested->error);
  tether_work_return_boolean (work, TRUE);
}

static void
print_resolved (const char *who)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) manager = NULL;
  g_autoptr(TetherLineage) here = tether_lineage_capture ();

  manager = tether_loop_manager_get_or_create ("component", TETHER_LOOKUP_FLAGS_STRICT, &error);
  g_print ("   %*s%s (depth %u) -> %s\n", 2 * tether_lineage_get_depth (here), "", who,
           tether_lineage_get_depth (here),
           manager != NULL ? tether_loop_manager_get_id (manager) : error->message);
}

static gpointer
grandchild_thread (gpointer data)
{
  print_resolved ("grandchild thread");
  return NULL;
}

static gpointer
plain_thread (gpointer data)
{
  print_resolved ("plain g_thread_new() thread, outside the lineage");
  return NULL;
}

static gpointer
child_thread (gpointer data)
{
  g_autoptr(TetherLoopManager) own = NULL;

  print_resolved ("child thread");
  g_thread_join (tether_thread_new ("grandchild", grandchild_thread, NULL));
  if (GPOINTER_TO_INT (data))
    {
      /* An isolated sibling: its own manager, for itself and its descendants. */
      own = tether_loop_manager_get_or_create ("component", TETHER_LOOKUP_FLAGS_FORCE_CREATE, NULL);
      g_print ("   %*sisolated child registered its own manager %p\n", 2, "", (gpointer) own);
    }
  return NULL;
}

static void
pool_job (gpointer data,
          gpointer user_data)
{
  TetherLineage *lineage = data;

  /* The GThreadPool recipe: adopt the submitter's lineage for the job. */
  tether_lineage_adopt (lineage);
  print_resolved ("GThreadPool job (adopted)");
  tether_lineage_leave ();
  tether_lineage_unref (lineage);
}

static void
print_snapshot (void)
{
  g_autoptr(GVariant) snapshot = tether_registry_snapshot ();
  g_autofree char *text = g_variant_print (snapshot, FALSE);

  g_print ("   registry snapshot: %s\n", text);
}

static void
count_post (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static void
print_stats (TetherLoopManager *manager)
{
  g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (manager);
  guint64 submitted, completed, failed, cancelled, rejected;
  gint64 wait_p50, run_p50, run_p99;

  g_variant_lookup (stats, "submitted", "t", &submitted);
  g_variant_lookup (stats, "completed", "t", &completed);
  g_variant_lookup (stats, "failed", "t", &failed);
  g_variant_lookup (stats, "cancelled", "t", &cancelled);
  g_variant_lookup (stats, "rejected", "t", &rejected);
  g_variant_lookup (stats, "queue-wait-p50-usec", "x", &wait_p50);
  g_variant_lookup (stats, "run-time-p50-usec", "x", &run_p50);
  g_variant_lookup (stats, "run-time-p99-usec", "x", &run_p99);
  g_print ("   %-12s submitted %3" G_GUINT64_FORMAT ", completed %3" G_GUINT64_FORMAT
           ", failed %" G_GUINT64_FORMAT ", cancelled %" G_GUINT64_FORMAT
           ", rejected %" G_GUINT64_FORMAT "; queue wait p50 %" G_GINT64_FORMAT
           " us, run time p50 %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT " us\n",
           tether_loop_manager_get_id (manager), submitted, completed, failed, cancelled,
           rejected, wait_p50, run_p50, run_p99);
}

static void
slow_post (gpointer data)
{
  g_usleep (30 * 1000);
}

int
main (void)
{
  g_autoptr(TetherLoopManager) render = tether_loop_manager_new ("render-loop");
  g_autoptr(TetherLoopManager) io = tether_loop_manager_new ("io-loop");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  NestedWait nested = { render, NULL };
  GThread *workers[3];
  int posted = 0;

  g_print ("Tether %s demo; main thread is %p\n", TETHER_VERSION_S, (gpointer) g_thread_self ());

  say ("1. Start two managers",
       "'render-loop' only accepts task type \"render\"; 'io-loop' accepts anything.");
  if (!tether_loop_manager_start (render, "render", &error) ||
      !tether_loop_manager_start (io, NULL, &error))
    g_error ("%s", error->message);
  g_print ("   running: render=%d io=%d\n",
           tether_loop_manager_is_running (render), tether_loop_manager_is_running (io));

  render_manager = render;
  say ("2. Submit from worker threads",
       "Three plain threads block on futures; the work runs on render-loop's thread.");
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    workers[i] = g_thread_new ("worker", worker_thread, GINT_TO_POINTER (i + 2));
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    g_thread_join (workers[i]);

  say ("3. A future for work that finishes later",
       "The work starts a timer on its loop and returns from it, like a coroutine.");
  future = tether_loop_manager_submit (io, NULL, slow_work, NULL, NULL, NULL, &error);
  if (!tether_future_wait (future, 1000, NULL, &error))
    g_print ("   1 ms wait: %s\n", error->message);
  g_clear_error (&error);
  tether_future_wait (future, -1, NULL, &error);
  text = tether_future_dup_string (future, NULL);
  g_print ("   result: %s\n", text);

  say ("4. An async result, GIO style",
       "The callback runs on this thread's context, never inside the submit call.");
  tether_loop_manager_submit_async (io, NULL, square_work, GINT_TO_POINTER (12), NULL,
                                    G_PRIORITY_DEFAULT,
                                    NULL, on_done, loop);
  g_main_loop_run (loop);

  say ("5. A rejected task type",
       "Work of type \"update\" is refused by render-loop, and nothing runs.");
  g_clear_object (&future);
  future = tether_loop_manager_submit (render, "update", square_work,
                                       GINT_TO_POINTER (5), NULL, NULL, &error);
  g_print ("   future=%p, error: %s\n", (gpointer) future, error->message);
  g_clear_error (&error);

  say ("6. A deadlock reported as an error",
       "Work on render-loop blocks on more work for render-loop: an error, not a hang.");
  future = tether_loop_manager_submit (render, "render", wait_on_self_work,
                                       &nested, NULL, NULL, &error);
  tether_future_wait (future, -1, NULL, NULL);
  g_print ("   inner wait failed with: %s\n", nested.error->message);
  g_clear_error (&nested.error);

  say ("7. Fire and forget, then a clean stop",
       "100 posts, then DRAIN runs them all; a later submit is refused.");
  for (int i = 0; i < 100; i++)
    tether_loop_manager_post (io, NULL, count_post, &posted, NULL, NULL);
  tether_loop_manager_stop (io, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (render, TETHER_STOP_MODE_CANCEL);
  g_print ("   posted work that ran: %d\n", posted);
  if (!tether_loop_manager_post (io, NULL, count_post, &posted, NULL, &error))
    g_print ("   after stop: %s\n", error->message);

  say ("8. Lineage: worker threads inherit their parent's manager",
       "main registers 'component'; children and grandchildren find it, pool jobs adopt it.");
  {
    g_autoptr(TetherLoopManager) component =
      tether_loop_manager_get_or_create ("component", TETHER_LOOKUP_FLAGS_NONE, NULL);
    GThreadPool *pool;

    g_print ("   fresh manager %p, running=%d: start it\n", (gpointer) component,
             tether_loop_manager_is_running (component));
    tether_loop_manager_start (component, NULL, NULL);
    print_resolved ("main thread");
    g_thread_join (tether_thread_new ("child", child_thread, GINT_TO_POINTER (FALSE)));
    g_thread_join (tether_thread_new ("isolated", child_thread, GINT_TO_POINTER (TRUE)));
    pool = g_thread_pool_new (pool_job, NULL, 2, FALSE, NULL);
    g_thread_pool_push (pool, tether_lineage_capture (), NULL);
    g_thread_pool_free (pool, FALSE, TRUE);
    g_thread_join (g_thread_new ("plain", plain_thread, NULL));
    print_snapshot ();
    tether_loop_manager_stop (component, TETHER_STOP_MODE_DRAIN);
  }

  say ("9. Health: stats, and debug mode",
       "Every manager counts its work; debug mode warns about work that hogs its thread.");
  print_stats (io);
  print_stats (render);
  {
    g_autoptr(TetherLoopManager) debugged = tether_loop_manager_new ("debugged");

    /* As TETHER_DEBUG=slow,slow-ms=10 would for every manager. */
    tether_loop_manager_set_debug_flags (debugged, TETHER_DEBUG_FLAGS_SLOW);
    tether_loop_manager_set_slow_threshold (debugged, 10 * 1000);
    tether_loop_manager_start (debugged, NULL, NULL);
    tether_loop_manager_post (debugged, NULL, slow_post, NULL, NULL, NULL);
    tether_loop_manager_stop (debugged, TETHER_STOP_MODE_DRAIN);
    print_stats (debugged);
  }

  g_print ("\nDone.\n");
  return 0;
}
