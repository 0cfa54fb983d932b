/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A GTK 4 window whose buttons start slow work while the UI keeps running:
 * a file hash on a Tether pool, a simulated fetch on a Tether loop manager,
 * so that neither waits for the other. `--self-test [--screenshot FILE]` clicks the
 * buttons itself, checks what the window shows and prints TAP. */

/* For dladdr(), to find the GTK library this process runs with. */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <unistd.h>

#include <gtk/gtk.h>
#include <tether.h>

#define TASK_TYPE          "demo"
#define HASH_CHUNK_SIZE    (64 * 1024)
#define FETCH_STEPS        30
#define FETCH_STEP_USEC    (50 * 1000)
#define TICK_MSEC          50
#define STATS_MSEC         250

typedef enum
{
  JOB_HASH,
  JOB_FETCH,
} JobKind;

/* One click's worth of work. The GTK thread and the manager's thread both
 * hold it, so it is reference counted, and it holds the window only weakly:
 * its last reference may go on the manager's thread, where a widget must
 * never be finalized. */
typedef struct
{
  JobKind       kind;
  GWeakRef      window;         /* dereferenced on the GTK thread only */
  GFile        *file;           /* JOB_HASH */
  guint         number;         /* JOB_FETCH */
  GCancellable *cancellable;
  gint64        started;        /* GTK thread */
  TetherFuture *future;         /* GTK thread; the submission */
  guint64       done;           /* GTK thread: the latest progress shown */
  guint64       total;

  GMutex        lock;           /* protects ran_at */
  gint64        ran_at;         /* monotonic; 0 until the work runs */
} DemoJob;

#define DEMO_TYPE_WINDOW (demo_window_get_type ())
G_DECLARE_FINAL_TYPE (DemoWindow, demo_window, DEMO, WINDOW, GtkApplicationWindow)

struct _DemoWindow
{
  GtkApplicationWindow  parent_instance;

  TetherLoopManager    *manager;    /* the fetches, in order, and the stats panel */
  TetherPool           *hashes;     /* hashing: independent jobs */
  GFile                *file;
  DemoJob              *hash_job;   /* owned; the hash in flight, if any */
  DemoJob              *fetch_job;  /* owned; the fetch in flight, if any */
  guint                 n_fetches;
  GtkFileChooserNative *chooser;

  guint                 tick_id;
  guint                 stats_id;
  guint64               n_ticks;
  gint64                last_tick;
  gint64                longest_gap;
  guint                 n_stats_refreshes;

  GtkWidget            *spinner;
  GtkWidget            *ticks_label;
  GtkWidget            *file_label;
  GtkWidget            *hash_button;
  GtkWidget            *choose_button;
  GtkWidget            *hash_progress;
  GtkWidget            *hash_result;
  GtkWidget            *hash_detail;
  GtkWidget            *fetch_button;
  GtkWidget            *fetch_progress;
  GtkWidget            *fetch_result;
  GtkWidget            *fetch_detail;
  GtkWidget            *cancel_button;
  GHashTable           *stat_values;   /* stats key -> value GtkLabel */
  GHashTable           *stat_names;    /* stats key -> name GtkLabel */
};

G_DEFINE_FINAL_TYPE (DemoWindow, demo_window, GTK_TYPE_APPLICATION_WINDOW)

static void demo_window_job_progress (DemoWindow *self,
                                      DemoJob    *job);

static void
demo_job_clear (gpointer data)
{
  DemoJob *job = data;

  g_weak_ref_clear (&job->window);
  g_clear_object (&job->file);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->future);
  g_mutex_clear (&job->lock);
}

static DemoJob *
demo_job_new (JobKind     kind,
              DemoWindow *window)
{
  DemoJob *job = g_atomic_rc_box_new0 (DemoJob);

  job->kind = kind;
  g_weak_ref_init (&job->window, window);
  job->cancellable = g_cancellable_new ();
  job->started = g_get_monotonic_time ();
  g_mutex_init (&job->lock);
  return job;
}

static DemoJob *
demo_job_ref (DemoJob *job)
{
  return g_atomic_rc_box_acquire (job);
}

static void
demo_job_unref (gpointer job)
{
  g_atomic_rc_box_release_full (job, demo_job_clear);
}

static void
demo_job_unref_closure (gpointer  job,
                        GClosure *closure)
{
  demo_job_unref (job);
}

static gint64
demo_job_get_ran_at (DemoJob *job)
{
  gint64 ran_at;

  g_mutex_lock (&job->lock);
  ran_at = job->ran_at;
  g_mutex_unlock (&job->lock);
  return ran_at;
}

/* Runs on the manager's thread, first thing in the work, so that the window
 * can tell time spent queued from time spent running. */
static void
demo_job_mark_running (DemoJob *job)
{
  g_mutex_lock (&job->lock);
  job->ran_at = g_get_monotonic_time ();
  g_mutex_unlock (&job->lock);
}

/* Runs on the manager's thread. The future delivers the latest report to
 * the GTK thread, which submitted the work, with at most one delivery on
 * its way: fast work cannot flood the GTK main loop, however often it
 * reports. */
static void
report_progress (TetherWork *work,
                 guint64     done,
                 guint64     total)
{
  tether_work_report_progress (work, g_variant_new ("(tt)", done, total));
}

/* Work for "Hash a file": runs on the manager's thread and blocks it, which
 * is fine, as that thread exists for this kind of work. */
static void
hash_work (TetherWork *work,
           gpointer    user_data)
{
  DemoJob *job = user_data;
  GCancellable *cancellable = tether_work_get_cancellable (work);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buffer = g_malloc (HASH_CHUNK_SIZE);
  guint64 done = 0;
  guint64 total;
  GError *error = NULL;

  demo_job_mark_running (job);
  stream = g_file_read (job->file, cancellable, &error);
  if (stream == NULL)
    {
      tether_work_return_error (work, error);
      return;
    }
  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                         cancellable, &error);
  if (info == NULL)
    {
      tether_work_return_error (work, error);
      return;
    }
  total = g_file_info_get_size (info);
  report_progress (work, 0, total);

  for (;;)
    {
      gssize n_read;

      /* Cancellation is advisory once work runs: this loop is what makes
       * the Cancel button take effect between two chunks. */
      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        {
          tether_work_return_error (work, error);
          return;
        }
      n_read = g_input_stream_read (G_INPUT_STREAM (stream), buffer, HASH_CHUNK_SIZE,
                                    cancellable, &error);
      if (n_read < 0)
        {
          tether_work_return_error (work, error);
          return;
        }
      if (n_read == 0)
        break;
      g_checksum_update (checksum, buffer, n_read);
      done += n_read;
      /* A file may grow while it is read; the bar must not pass 100 %. */
      report_progress (work, done, MAX (done, total));
    }

  tether_work_return_string (work, g_checksum_get_string (checksum));
}

/* Work for "Simulated fetch": a slow request, as a series of sleeps. */
static void
fetch_work (TetherWork *work,
            gpointer    user_data)
{
  DemoJob *job = user_data;
  GCancellable *cancellable = tether_work_get_cancellable (work);
  g_autofree char *response = NULL;
  GError *error = NULL;

  demo_job_mark_running (job);
  for (guint step = 0; step < FETCH_STEPS; step++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        {
          tether_work_return_error (work, error);
          return;
        }
      g_usleep (FETCH_STEP_USEC);
      report_progress (work, step + 1, FETCH_STEPS);
    }

  response = g_strdup_printf ("Response #%u after %d steps of %d ms",
                              job->number, FETCH_STEPS, FETCH_STEP_USEC / 1000);
  tether_work_return_string (work, response);
}

/* The GTK library this process runs with: a big file sure to exist. */
static GFile *
default_file (void)
{
  Dl_info info;

  if (dladdr ((gpointer) gtk_init, &info) != 0 && info.dli_fname != NULL)
    return g_file_new_for_path (info.dli_fname);
  return g_file_new_for_path ("/proc/self/exe");
}

static GtkWidget *
job_progress_bar (DemoWindow *self,
                  JobKind     kind)
{
  return kind == JOB_HASH ? self->hash_progress : self->fetch_progress;
}

static DemoJob *
demo_window_current_job (DemoWindow *self,
                         JobKind     kind)
{
  return kind == JOB_HASH ? self->hash_job : self->fetch_job;
}

static void
demo_window_update_busy (DemoWindow *self)
{
  gboolean busy = self->hash_job != NULL || self->fetch_job != NULL;

  gtk_widget_set_sensitive (self->hash_button, self->hash_job == NULL);
  gtk_widget_set_sensitive (self->choose_button, self->hash_job == NULL);
  gtk_widget_set_sensitive (self->fetch_button, self->fetch_job == NULL);
  gtk_widget_set_sensitive (self->cancel_button, busy);
}

static void
demo_window_job_progress (DemoWindow *self,
                          DemoJob    *job)
{
  GtkProgressBar *bar = GTK_PROGRESS_BAR (job_progress_bar (self, job->kind));
  g_autofree char *text = NULL;
  guint64 done, total;

  /* A late update from a job that already ended, or was replaced. */
  if (demo_window_current_job (self, job->kind) != job)
    return;

  done = job->done;
  total = job->total;
  if (total == 0)
    return;
  if (job->kind == JOB_HASH)
    {
      g_autofree char *done_text = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *total_text = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);

      text = g_strdup_printf ("%s of %s", done_text, total_text);
    }
  else
    text = g_strdup_printf ("step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT, done, total);
  gtk_progress_bar_set_fraction (bar, (double) done / total);
  gtk_progress_bar_set_text (bar, text);
}

static void
demo_window_job_ended (DemoWindow   *self,
                       DemoJob      *job,
                       const GValue *value,
                       const GError *error)
{
  GtkWidget *result = job->kind == JOB_HASH ? self->hash_result : self->fetch_result;
  GtkWidget *detail = job->kind == JOB_HASH ? self->hash_detail : self->fetch_detail;
  GtkProgressBar *bar = GTK_PROGRESS_BAR (job_progress_bar (self, job->kind));
  DemoJob **slot = job->kind == JOB_HASH ? &self->hash_job : &self->fetch_job;
  gint64 now = g_get_monotonic_time ();
  gint64 msec = (now - job->started) / 1000;
  gint64 ran_at, run_msec, queued_msec;
  g_autofree char *detail_text = NULL;
  g_autoptr(GVariant) progress = NULL;
  guint64 done;

  if (*slot != job)
    return;

  /* The last report may not have been delivered: the outcome came first. */
  progress = job->future != NULL ? tether_future_dup_progress (job->future) : NULL;
  if (progress != NULL)
    g_variant_get (progress, "(tt)", &job->done, &job->total);
  done = job->done;
  ran_at = demo_job_get_ran_at (job);
  run_msec = ran_at != 0 ? (now - ran_at) / 1000 : 0;
  queued_msec = ran_at != 0 ? (ran_at - job->started) / 1000 : msec;
  if (error == NULL)
    {
      demo_window_job_progress (self, job);
      gtk_label_set_text (GTK_LABEL (result), g_value_get_string (value));
      gtk_progress_bar_set_fraction (bar, 1.0);
      if (job->kind == JOB_HASH)
        {
          g_autofree char *size = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *rate = g_format_size_full (done * 1000 / MAX (run_msec, 1),
                                                      G_FORMAT_SIZE_IEC_UNITS);

          detail_text = g_strdup_printf ("%s in %" G_GINT64_FORMAT " ms (%s/s), after %"
                                         G_GINT64_FORMAT " ms in the queue",
                                         size, run_msec, rate, queued_msec);
        }
      else
        detail_text = g_strdup_printf ("%" G_GINT64_FORMAT " ms running, after %"
                                       G_GINT64_FORMAT " ms in the queue",
                                       run_msec, queued_msec);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gtk_label_set_text (GTK_LABEL (result), "Cancelled");
      detail_text = ran_at != 0
        ? g_strdup_printf ("after %" G_GINT64_FORMAT " ms running", run_msec)
        : g_strdup_printf ("before it ran, after %" G_GINT64_FORMAT " ms in the queue", msec);
    }
  else
    {
      g_autofree char *text = g_strdup_printf ("Failed: %s", error->message);

      gtk_label_set_text (GTK_LABEL (result), text);
      gtk_progress_bar_set_text (bar, "failed");
    }
  gtk_label_set_text (GTK_LABEL (detail), detail_text != NULL ? detail_text : "");
  g_clear_pointer (slot, demo_job_unref);
  demo_window_update_busy (self);
}

/* Runs on the GTK thread: the future emits "progress" in the thread-default
 * context of the submitting thread, and GTK submits from its main thread. */
static void
on_job_progress (TetherFuture *future,
                 GVariant     *progress,
                 gpointer      user_data)
{
  DemoJob *job = user_data;
  g_autoptr(DemoWindow) window = g_weak_ref_get (&job->window);

  g_variant_get (progress, "(tt)", &job->done, &job->total);
  if (window != NULL)
    demo_window_job_progress (window, job);
}

/* Runs on the GTK thread too: wait_async() calls back in the caller's
 * thread-default context, after the last progress delivery. */
static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  TetherFuture *future = TETHER_FUTURE (source);
  DemoJob *job = user_data;
  g_autoptr(DemoWindow) window = g_weak_ref_get (&job->window);
  g_autoptr(GError) error = NULL;

  tether_future_wait_finish (future, result, NULL);
  error = tether_future_dup_error (future);
  /* Only a job that succeeded has a value; asking a cancelled or failed
   * future for one is a programmer error. */
  if (window != NULL)
    demo_window_job_ended (window, job,
                           error == NULL ? tether_future_get_value (future) : NULL, error);
  demo_job_unref (job);
}

static void
demo_window_start (DemoWindow *self,
                   DemoJob    *job)
{
  GtkWidget *result = job->kind == JOB_HASH ? self->hash_result : self->fetch_result;
  GtkWidget *detail = job->kind == JOB_HASH ? self->hash_detail : self->fetch_detail;
  GtkProgressBar *bar = GTK_PROGRESS_BAR (job_progress_bar (self, job->kind));
  g_autoptr(GError) error = NULL;

  gtk_progress_bar_set_fraction (bar, 0.0);
  gtk_progress_bar_set_text (bar, "queued");
  gtk_label_set_text (GTK_LABEL (result), "…");
  gtk_label_set_text (GTK_LABEL (detail), "");
  self->longest_gap = 0;

  /* One reference for the work (released on a worker thread when it ends),
   * one for the progress handler, one for the callback. Both are a
   * TetherExecutor: a hash goes to the pool, so a fetch clicked meanwhile
   * starts at once on the manager instead of waiting behind it. */
  job->future = tether_executor_submit (job->kind == JOB_HASH ? TETHER_EXECUTOR (self->hashes)
                                                              : TETHER_EXECUTOR (self->manager),
                                        TASK_TYPE,
                                        job->kind == JOB_HASH ? hash_work : fetch_work,
                                        demo_job_ref (job), demo_job_unref,
                                        job->cancellable, &error);
  if (job->future == NULL)
    {
      demo_window_job_ended (self, job, NULL, error);
      return;
    }
  g_signal_connect_data (job->future, "progress", G_CALLBACK (on_job_progress),
                         demo_job_ref (job), demo_job_unref_closure, 0);
  tether_future_wait_async (job->future, NULL, on_job_done, demo_job_ref (job));
  demo_window_update_busy (self);
}

static void
on_hash_clicked (GtkButton  *button,
                 DemoWindow *self)
{
  if (self->hash_job != NULL)
    return;
  self->hash_job = demo_job_new (JOB_HASH, self);
  self->hash_job->file = g_object_ref (self->file);
  demo_window_start (self, self->hash_job);
}

static void
on_fetch_clicked (GtkButton  *button,
                  DemoWindow *self)
{
  if (self->fetch_job != NULL)
    return;
  self->fetch_job = demo_job_new (JOB_FETCH, self);
  self->fetch_job->number = ++self->n_fetches;
  demo_window_start (self, self->fetch_job);
}

static void
on_cancel_clicked (GtkButton  *button,
                   DemoWindow *self)
{
  /* Queued work ends cancelled at once; running work sees its cancellable
   * fire and stops at its next check. */
  if (self->hash_job != NULL)
    g_cancellable_cancel (self->hash_job->cancellable);
  if (self->fetch_job != NULL)
    g_cancellable_cancel (self->fetch_job->cancellable);
}

static void
demo_window_set_file (DemoWindow *self,
                      GFile      *file)
{
  g_autofree char *name = g_file_get_parse_name (file);

  g_set_object (&self->file, file);
  gtk_label_set_text (GTK_LABEL (self->file_label), name);
}

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     DemoWindow      *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        {
          demo_window_set_file (self, file);
          on_hash_clicked (NULL, self);
        }
    }
  g_clear_object (&self->chooser);
}

static void
on_choose_clicked (GtkButton  *button,
                   DemoWindow *self)
{
  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new ("Choose a file to hash", GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               "_Hash", "_Cancel");
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static gboolean
on_tick (gpointer user_data)
{
  DemoWindow *self = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autofree char *text = NULL;

  self->n_ticks++;
  if (self->last_tick != 0)
    self->longest_gap = MAX (self->longest_gap, now - self->last_tick);
  self->last_tick = now;
  text = g_strdup_printf ("UI ticks: %" G_GUINT64_FORMAT " (every %d ms) · longest gap since "
                          "the last click: %" G_GINT64_FORMAT " ms",
                          self->n_ticks, TICK_MSEC, self->longest_gap / 1000);
  gtk_label_set_text (GTK_LABEL (self->ticks_label), text);
  return G_SOURCE_CONTINUE;
}

/* Statistics rows, by the keys of the a{sv} demo_window_collect_stats()
 * returns; a key it does not return hides its row. */
static const struct
{
  const char *key;
  const char *name;
  int         column;
  int         row;
} stat_rows[] = {
  { "is-running",          "Manager running",   0, 0 },
  { "queued",              "Queued",            0, 1 },
  { "running",             "Running",           0, 2 },
  { "queue-high-water",    "Queue high water",  0, 3 },
  { "submitted",           "Submitted",         0, 4 },
  { "completed",           "Completed",         0, 5 },
  { "failed",              "Failed",            0, 6 },
  { "cancelled",           "Cancelled",         0, 7 },
  { "rejected",            "Rejected",          0, 8 },
  { "latency-samples",     "Latency samples",   1, 0 },
  { "queue-wait-p50-usec", "Queue wait p50",    1, 1 },
  { "queue-wait-p90-usec", "Queue wait p90",    1, 2 },
  { "queue-wait-p99-usec", "Queue wait p99",    1, 3 },
  { "run-time-p50-usec",   "Run time p50",      1, 4 },
  { "run-time-p90-usec",   "Run time p90",      1, 5 },
  { "run-time-p99-usec",   "Run time p99",      1, 6 },
};

/* What the manager says about itself, as an a{sv} (transfer full): its
 * stats, which any thread may take, plus whether it runs. */
static GVariant *
demo_window_collect_stats (DemoWindow *self)
{
  g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (self->manager);
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (stats);

  g_variant_dict_insert (&dict, "is-running", "b", tether_loop_manager_is_running (self->manager));
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

static char *
format_stat (const char *key,
             GVariant   *value,
             gboolean    have_samples)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "yes" : "no");
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, g_variant_get_uint64 (value));
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_strdup_printf ("%u", g_variant_get_uint32 (value));
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64) && g_str_has_suffix (key, "-usec"))
    {
      gint64 usec = g_variant_get_int64 (value);

      /* The manager reports 0 for percentiles of no samples. */
      if (!have_samples)
        return g_strdup ("—");
      if (usec < 1000)
        return g_strdup_printf ("%" G_GINT64_FORMAT " µs", usec);
      return g_strdup_printf ("%.1f ms", usec / 1000.0);
    }
  return g_variant_print (value, FALSE);
}

static gboolean
on_refresh_stats (gpointer user_data)
{
  DemoWindow *self = user_data;
  g_autoptr(GVariant) stats = demo_window_collect_stats (self);
  guint32 n_samples = 0;

  g_variant_lookup (stats, "latency-samples", "u", &n_samples);
  for (guint i = 0; i < G_N_ELEMENTS (stat_rows); i++)
    {
      const char *key = stat_rows[i].key;
      GtkWidget *name = g_hash_table_lookup (self->stat_names, key);
      GtkWidget *value = g_hash_table_lookup (self->stat_values, key);
      g_autoptr(GVariant) v = g_variant_lookup_value (stats, key, NULL);

      gtk_widget_set_visible (name, v != NULL);
      gtk_widget_set_visible (value, v != NULL);
      if (v != NULL)
        {
          g_autofree char *text = format_stat (key, v, n_samples > 0);

          gtk_label_set_text (GTK_LABEL (value), text);
        }
    }
  self->n_stats_refreshes++;
  return G_SOURCE_CONTINUE;
}

static GtkWidget *
new_label (const char *text,
           const char *css_class,
           float       xalign)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static GtkWidget *
new_section (const char *title,
             GtkWidget  *child)
{
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *label = gtk_label_new (NULL);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", title);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_frame_set_label_widget (GTK_FRAME (frame), label);
  gtk_widget_set_margin_start (child, 12);
  gtk_widget_set_margin_end (child, 12);
  gtk_widget_set_margin_top (child, 8);
  gtk_widget_set_margin_bottom (child, 12);
  gtk_frame_set_child (GTK_FRAME (frame), child);
  return frame;
}

static GtkWidget *
new_result_label (void)
{
  GtkWidget *label = new_label ("—", "monospace", 0.0);

  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_CHAR);
  return label;
}

static GtkWidget *
new_progress_bar (void)
{
  GtkWidget *bar = gtk_progress_bar_new ();

  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (bar), TRUE);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (bar), "idle");
  return bar;
}

static void
demo_window_build (DemoWindow *self)
{
  GtkWidget *columns = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *row, *box, *grid;

  gtk_widget_set_margin_start (columns, 18);
  gtk_widget_set_margin_end (columns, 18);
  gtk_widget_set_margin_top (columns, 18);
  gtk_widget_set_margin_bottom (columns, 18);
  gtk_widget_set_hexpand (left, TRUE);
  gtk_box_append (GTK_BOX (columns), left);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  /* Always spinning: it is drawn by the GTK thread's frame clock, so it
   * freezes the moment that thread stops running its main loop. */
  self->spinner = gtk_spinner_new ();
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), TRUE);
  self->ticks_label = new_label ("UI ticks: 0", NULL, 0.0);
  gtk_box_append (GTK_BOX (row), self->spinner);
  gtk_box_append (GTK_BOX (row), self->ticks_label);
  gtk_box_append (GTK_BOX (left), new_section ("The UI stays responsive", row));

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->file_label = new_label ("", "dim-label", 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (self->file_label), PANGO_ELLIPSIZE_MIDDLE);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->hash_button = gtk_button_new_with_mnemonic ("_Hash a file");
  self->choose_button = gtk_button_new_with_mnemonic ("C_hoose another file…");
  gtk_box_append (GTK_BOX (row), self->hash_button);
  gtk_box_append (GTK_BOX (row), self->choose_button);
  self->hash_progress = new_progress_bar ();
  self->hash_result = new_result_label ();
  self->hash_detail = new_label ("", "dim-label", 0.0);
  gtk_box_append (GTK_BOX (box), self->file_label);
  gtk_box_append (GTK_BOX (box), row);
  gtk_box_append (GTK_BOX (box), self->hash_progress);
  gtk_box_append (GTK_BOX (box), self->hash_result);
  gtk_box_append (GTK_BOX (box), self->hash_detail);
  gtk_box_append (GTK_BOX (left), new_section ("SHA-256 in 64 KiB chunks", box));

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->fetch_button = gtk_button_new_with_mnemonic ("_Simulated fetch");
  gtk_widget_set_halign (self->fetch_button, GTK_ALIGN_START);
  self->fetch_progress = new_progress_bar ();
  self->fetch_result = new_result_label ();
  self->fetch_detail = new_label ("", "dim-label", 0.0);
  gtk_box_append (GTK_BOX (box), self->fetch_button);
  gtk_box_append (GTK_BOX (box), self->fetch_progress);
  gtk_box_append (GTK_BOX (box), self->fetch_result);
  gtk_box_append (GTK_BOX (box), self->fetch_detail);
  gtk_box_append (GTK_BOX (left), new_section ("A slow request, 1.5 s in 50 ms steps", box));

  self->cancel_button = gtk_button_new_with_mnemonic ("_Cancel");
  gtk_widget_add_css_class (self->cancel_button, "destructive-action");
  gtk_widget_set_halign (self->cancel_button, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (left), self->cancel_button);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  for (guint i = 0; i < G_N_ELEMENTS (stat_rows); i++)
    {
      GtkWidget *name = new_label (stat_rows[i].name, "dim-label", 0.0);
      GtkWidget *value = new_label ("", "monospace", 1.0);

      gtk_grid_attach (GTK_GRID (grid), name, 2 * stat_rows[i].column, stat_rows[i].row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), value, 2 * stat_rows[i].column + 1, stat_rows[i].row, 1, 1);
      g_hash_table_insert (self->stat_names, (gpointer) stat_rows[i].key, name);
      g_hash_table_insert (self->stat_values, (gpointer) stat_rows[i].key, value);
    }
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_box_append (GTK_BOX (box), grid);
  gtk_widget_set_valign (box, GTK_ALIGN_START);
  row = new_section ("Loop manager, every 250 ms", box);
  gtk_widget_set_valign (row, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (columns), row);

  gtk_window_set_child (GTK_WINDOW (self), columns);

  g_signal_connect (self->hash_button, "clicked", G_CALLBACK (on_hash_clicked), self);
  g_signal_connect (self->choose_button, "clicked", G_CALLBACK (on_choose_clicked), self);
  g_signal_connect (self->fetch_button, "clicked", G_CALLBACK (on_fetch_clicked), self);
  g_signal_connect (self->cancel_button, "clicked", G_CALLBACK (on_cancel_clicked), self);
}

/* On the GTK thread, once the manager of a closed window has stopped. */
static void
on_manager_stopped (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GApplication) app = user_data;

  tether_loop_manager_stop_finish (TETHER_LOOP_MANAGER (source), result, NULL);
  if (app != NULL)
    g_application_release (app);
}

/* The same, for the hashing pool. */
static void
on_pool_stopped (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GApplication) app = user_data;

  tether_pool_stop_finish (TETHER_POOL (source), result, NULL);
  if (app != NULL)
    g_application_release (app);
}

static void
demo_window_dispose (GObject *object)
{
  DemoWindow *self = DEMO_WINDOW (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->stats_id, g_source_remove);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  /* Running work sees its cancellable fire. The stop does not wait for it:
   * the window goes at once, and the application is held until the
   * manager's thread has exited, so that quitting never leaves a thread
   * behind. Callbacks still on their way find the window gone through their
   * weak reference. */
  if (self->manager != NULL)
    {
      GApplication *app = g_application_get_default ();

      if (app != NULL)
        g_application_hold (app);
      tether_loop_manager_stop_async (self->manager, TETHER_STOP_MODE_CANCEL, NULL,
                                      on_manager_stopped, app != NULL ? g_object_ref (app) : NULL);
    }
  g_clear_object (&self->manager);
  if (self->hashes != NULL)
    {
      GApplication *app = g_application_get_default ();

      if (app != NULL)
        g_application_hold (app);
      tether_pool_stop_async (self->hashes, TETHER_STOP_MODE_CANCEL, NULL, on_pool_stopped,
                              app != NULL ? g_object_ref (app) : NULL);
    }
  g_clear_object (&self->hashes);
  g_clear_pointer (&self->hash_job, demo_job_unref);
  g_clear_pointer (&self->fetch_job, demo_job_unref);
  g_clear_object (&self->file);

  G_OBJECT_CLASS (demo_window_parent_class)->dispose (object);
}

static void
demo_window_finalize (GObject *object)
{
  DemoWindow *self = DEMO_WINDOW (object);

  g_clear_pointer (&self->stat_names, g_hash_table_unref);
  g_clear_pointer (&self->stat_values, g_hash_table_unref);

  G_OBJECT_CLASS (demo_window_parent_class)->finalize (object);
}

static void
demo_window_class_init (DemoWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = demo_window_dispose;
  object_class->finalize = demo_window_finalize;
}

static void
demo_window_init (DemoWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = default_file ();

  self->stat_names = g_hash_table_new (g_str_hash, g_str_equal);
  self->stat_values = g_hash_table_new (g_str_hash, g_str_equal);
  gtk_window_set_title (GTK_WINDOW (self), "Tether GTK demo");
  gtk_window_set_default_size (GTK_WINDOW (self), 1040, -1);
  demo_window_build (self);
  demo_window_set_file (self, file);

  /* Fetches run on this manager's thread, one at a time; hashes on a pool
   * of their own, so neither waits for the other. */
  self->manager = tether_loop_manager_new ("gtk-demo");
  if (!tether_loop_manager_start (self->manager, TASK_TYPE, &error))
    g_warning ("Could not start the loop manager: %s", error->message);
  g_clear_error (&error);
  self->hashes = tether_pool_new ("gtk-demo-hash", 1);
  if (!tether_pool_start (self->hashes, TASK_TYPE, &error))
    g_warning ("Could not start the hashing pool: %s", error->message);

  self->tick_id = g_timeout_add (TICK_MSEC, on_tick, self);
  self->stats_id = g_timeout_add (STATS_MSEC, on_refresh_stats, self);
  on_refresh_stats (self);
  demo_window_update_busy (self);
}

static DemoWindow *
demo_window_new (GtkApplication *app)
{
  return g_object_new (DEMO_TYPE_WINDOW, "application", app, NULL);
}

#define SELF_TEST_TICK_MSEC    20
#define SELF_TEST_MIN_TICKS    10
#define SELF_TEST_WAIT_SEC     10
#define SELF_TEST_WATCHDOG_SEC 30
/* Big enough that hashing takes several hundred milliseconds, so that the
 * GTK thread's ticks during the hash mean something. Mostly a hole: it
 * costs no disk space. */
#define SELF_TEST_FILE_SIZE    (192 * 1024 * 1024 + 4321)

typedef struct
{
  DemoWindow *window;
  const char *screenshot;
  GFile      *file;
  int         n_planned;
  int         n_run;
  gboolean    failed;
  guint64     ticks;
  guint       n_fractions;
  gboolean    done;
} SelfTest;

static void tap (SelfTest   *test,
                 gboolean    ok,
                 const char *format,
                 ...) G_GNUC_PRINTF (3, 4);

static void
tap (SelfTest   *test,
     gboolean    ok,
     const char *format,
     ...)
{
  g_autofree char *description = NULL;
  va_list args;

  va_start (args, format);
  description = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s %d - %s\n", ok ? "ok" : "not ok", ++test->n_run, description);
  if (!ok)
    test->failed = TRUE;
}

typedef gboolean (*Predicate) (SelfTest *test);

/* Iterates the GTK main context until @predicate holds, for at most
 * SELF_TEST_WAIT_SEC. Never blocks for long: the demo's own timeouts wake
 * the context every few milliseconds. */
static gboolean
wait_until (SelfTest  *test,
            Predicate  predicate)
{
  gint64 deadline = g_get_monotonic_time () + SELF_TEST_WAIT_SEC * G_TIME_SPAN_SECOND;

  while (!predicate (test))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

static gboolean
window_mapped (SelfTest *test)
{
  return gtk_widget_get_mapped (GTK_WIDGET (test->window));
}

static gboolean
hash_showed_progress (SelfTest *test)
{
  return test->n_fractions > 0;
}

static gboolean
hash_ended (SelfTest *test)
{
  return test->window->hash_job == NULL;
}

static gboolean
all_ended (SelfTest *test)
{
  return test->window->hash_job == NULL && test->window->fetch_job == NULL;
}

static guint stats_mark;

static gboolean
stats_refreshed_twice (SelfTest *test)
{
  return test->window->n_stats_refreshes >= stats_mark + 2;
}

static gboolean
on_test_tick (gpointer user_data)
{
  SelfTest *test = user_data;

  test->ticks++;
  return G_SOURCE_CONTINUE;
}

/* Counts progress the hash bar shows between "queued" and the end. */
static void
on_hash_fraction (GObject    *bar,
                  GParamSpec *pspec,
                  SelfTest   *test)
{
  double fraction = gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (bar));

  if (fraction > 0.0 && fraction < 1.0)
    test->n_fractions++;
}

/* A click as the user makes it, minus the pointer: nothing happens on an
 * insensitive button. gtk_widget_activate() would not do, as GTK 4 delays
 * the "clicked" it leads to by a quarter of a second, for the animation. */
static void
click (GtkWidget *button)
{
  if (gtk_widget_is_sensitive (button))
    g_signal_emit_by_name (button, "clicked");
}

static const char *
label_text (GtkWidget *label)
{
  return gtk_label_get_text (GTK_LABEL (label));
}

static const char *
stat_text (DemoWindow *window,
           const char *key)
{
  GtkWidget *value = g_hash_table_lookup (window->stat_values, key);

  return gtk_widget_get_visible (value) ? gtk_label_get_text (GTK_LABEL (value)) : "(hidden)";
}

/* Random-looking bytes at the start, across a chunk boundary in the middle
 * and in the odd-sized tail: a hash that skipped, reordered or cut chunks
 * would not match. */
static GFile *
make_test_file (GError **error)
{
  const goffset offsets[] = { 0, SELF_TEST_FILE_SIZE / 2 - 5000, SELF_TEST_FILE_SIZE - 100000 };
  g_autoptr(GFileIOStream) stream = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  g_autofree guint32 *block = g_new (guint32, 25000);
  GOutputStream *out;

  file = g_file_new_tmp ("tether-gtk-demo-XXXXXX.bin", &stream, error);
  if (file == NULL)
    return NULL;
  out = g_io_stream_get_output_stream (G_IO_STREAM (stream));
  if (!g_seekable_truncate (G_SEEKABLE (out), SELF_TEST_FILE_SIZE, NULL, error))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      for (guint j = 0; j < 25000; j++)
        block[j] = g_rand_int (rand);
      if (!g_seekable_seek (G_SEEKABLE (out), offsets[i], G_SEEK_SET, NULL, error) ||
          !g_output_stream_write_all (out, block, 25000 * sizeof (guint32), NULL, NULL, error))
        return NULL;
    }
  if (!g_io_stream_close (G_IO_STREAM (stream), NULL, error))
    return NULL;
  return g_steal_pointer (&file);
}

/* The reference digest, computed here on the GTK thread, independently of
 * the demo's work function. */
static char *
checksum_file (GFile   *file,
               GError **error)
{
  g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, error);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buffer = g_malloc (1024 * 1024);
  gssize n_read;

  if (stream == NULL)
    return NULL;
  while ((n_read = g_input_stream_read (G_INPUT_STREAM (stream), buffer, 1024 * 1024,
                                        NULL, error)) > 0)
    g_checksum_update (checksum, buffer, n_read);
  if (n_read < 0)
    return NULL;
  return g_strdup (g_checksum_get_string (checksum));
}

static gboolean
save_screenshot (GtkWidget   *widget,
                 const char  *filename,
                 GError     **error)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window drew nothing");
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, filename))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", filename);
      return FALSE;
    }
  return TRUE;
}

static void
self_test_run (SelfTest *test)
{
  DemoWindow *window = test->window;
  g_autoptr(GError) error = NULL;
  g_autofree char *hash_shown = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *stats_shown = NULL;
  guint64 high_water;
  const char *text;
  guint64 ticks_before;
  gint64 started, hash_msec, fetch_msec, fetch_ran_at;
  DemoJob *fetch;
  gboolean ok;

  g_print ("1..%d\n", test->n_planned);

  tap (test, wait_until (test, window_mapped), "the window is shown");

  test->file = make_test_file (&error);
  if (test->file == NULL)
    {
      g_print ("Bail out! cannot make the test file: %s\n", error->message);
      test->failed = TRUE;
      return;
    }
  demo_window_set_file (window, test->file);
  g_signal_connect (window->hash_progress, "notify::fraction", G_CALLBACK (on_hash_fraction), test);
  g_timeout_add (SELF_TEST_TICK_MSEC, on_test_tick, test);

  /* Cancel: a running hash and the fetch running beside it (the hash is on
   * the pool, the fetch on the manager: the fetch no longer waits). */
  click (window->hash_button);
  click (window->fetch_button);
  ok = wait_until (test, hash_showed_progress);
  click (window->cancel_button);
  ok = wait_until (test, all_ended) && ok;
  tap (test, ok && g_strcmp0 (label_text (window->hash_result), "Cancelled") == 0,
       "Cancel stops a running hash: result '%s'", label_text (window->hash_result));
  tap (test, ok && g_strcmp0 (label_text (window->fetch_result), "Cancelled") == 0,
       "Cancel ends the fetch running beside it: result '%s'", label_text (window->fetch_result));

  /* Hash, with a fetch clicked during it. */
  test->n_fractions = 0;
  started = g_get_monotonic_time ();
  ticks_before = test->ticks;
  click (window->hash_button);
  click (window->fetch_button);
  /* Held here: on a loaded machine the hash may take longer than the
   * fetch, whose job the window lets go of when it ends. */
  fetch = window->fetch_job != NULL ? demo_job_ref (window->fetch_job) : NULL;
  ok = wait_until (test, hash_ended);
  hash_msec = (g_get_monotonic_time () - started) / 1000;
  /* The fetch ran while the hash did: it was not queued behind it (on a
   * shared manager its work would start only now). */
  fetch_ran_at = fetch != NULL ? demo_job_get_ran_at (fetch) : 0;
  g_clear_pointer (&fetch, demo_job_unref);
  tap (test, ok && fetch_ran_at != 0 && fetch_ran_at - started <= hash_msec * 1000,
       "the fetch started while the hash ran (%" G_GINT64_FORMAT " ms after the clicks)",
       fetch_ran_at != 0 ? (fetch_ran_at - started) / 1000 : -1);
  tap (test, ok && test->n_fractions > 0,
       "hash progress reached the progress bar (%u updates)", test->n_fractions);
  tap (test, ok && test->ticks - ticks_before >= SELF_TEST_MIN_TICKS,
       "the UI kept ticking during the hash: %" G_GUINT64_FORMAT " ticks of a %d ms timeout "
       "in %" G_GINT64_FORMAT " ms (at least %d)",
       test->ticks - ticks_before, SELF_TEST_TICK_MSEC, hash_msec, SELF_TEST_MIN_TICKS);

  /* What the window shows now; the reference is computed at the end, as
   * computing it here would block the ticks the fetch check counts. A new
   * hash cannot change the label meanwhile: nothing clicks the button. */
  hash_shown = g_strdup (label_text (window->hash_result));

  started = g_get_monotonic_time ();
  ticks_before = test->ticks;
  ok = wait_until (test, all_ended);
  fetch_msec = (g_get_monotonic_time () - started) / 1000;
  text = label_text (window->fetch_result);
  tap (test, ok && g_strcmp0 (text, "Response #2 after 30 steps of 50 ms") == 0,
       "the fetch label shows the response: '%s'", text);
  /* How long the fetch still runs depends on how long the hash took (on a
   * loaded machine, most of the fetch may already be over), so the check
   * is a rate: at least a quarter of the ticks the time could hold. */
  tap (test, ok && (gint64) (test->ticks - ticks_before) * SELF_TEST_TICK_MSEC * 4 >= fetch_msec,
       "the UI kept ticking while the fetch ended: %" G_GUINT64_FORMAT " ticks of a %d ms "
       "timeout in %" G_GINT64_FORMAT " ms (at least a quarter of %" G_GINT64_FORMAT ")",
       test->ticks - ticks_before, SELF_TEST_TICK_MSEC, fetch_msec,
       fetch_msec / SELF_TEST_TICK_MSEC);

  /* The stats as the window shows them once everything has ended. */
  stats_mark = window->n_stats_refreshes;
  ok = wait_until (test, stats_refreshed_twice);
  stats_shown = g_strdup_printf ("submitted %s, completed %s, cancelled %s, failed %s, "
                                 "rejected %s, queued %s, running %s",
                                 stat_text (window, "submitted"), stat_text (window, "completed"),
                                 stat_text (window, "cancelled"), stat_text (window, "failed"),
                                 stat_text (window, "rejected"), stat_text (window, "queued"),
                                 stat_text (window, "running"));
  /* The panel shows the manager, which ran the two fetches (one
   * cancelled); the two hashes went to the pool. */
  high_water = g_ascii_strtoull (stat_text (window, "queue-high-water"), NULL, 10);
  tap (test, ok &&
       g_strcmp0 (stats_shown, "submitted 2, completed 1, cancelled 1, failed 0, "
                  "rejected 0, queued 0, running 0") == 0,
       "the stats panel shows the manager's final counts: %s, queue high water %" G_GUINT64_FORMAT,
       stats_shown, high_water);

  if (test->screenshot != NULL)
    {
      g_clear_error (&error);
      ok = save_screenshot (GTK_WIDGET (window), test->screenshot, &error);
      tap (test, ok, "screenshot saved to %s%s%s", test->screenshot,
           ok ? "" : ": ", ok ? "" : error->message);
    }

  /* Last, as it blocks the GTK thread for a while, which the screenshot's
   * "longest gap" would show. */
  g_clear_error (&error);
  expected = checksum_file (test->file, &error);
  tap (test, expected != NULL && g_strcmp0 (hash_shown, expected) == 0,
       "the hash label showed the file's SHA-256: '%s', computed here '%s'",
       hash_shown, expected != NULL ? expected : error->message);
}

static GMutex watchdog_lock;
static GCond watchdog_cond;
static gboolean watchdog_done;

/* A thread of its own, so that it fires even if the GTK thread hangs. */
static gpointer
watchdog_thread (gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + SELF_TEST_WATCHDOG_SEC * G_TIME_SPAN_SECOND;

  g_mutex_lock (&watchdog_lock);
  while (!watchdog_done)
    {
      if (!g_cond_wait_until (&watchdog_cond, &watchdog_lock, deadline) && !watchdog_done)
        {
          g_print ("Bail out! watchdog: the self-test did not end within %d s\n",
                   SELF_TEST_WATCHDOG_SEC);
          _exit (1);
        }
    }
  g_mutex_unlock (&watchdog_lock);
  return NULL;
}

static gboolean
self_test_idle (gpointer user_data)
{
  SelfTest *test = user_data;

  self_test_run (test);
  if (test->file != NULL)
    g_file_delete (test->file, NULL, NULL);
  g_clear_object (&test->file);
  if (test->n_run != test->n_planned)
    test->failed = TRUE;
  gtk_window_destroy (GTK_WINDOW (test->window));
  return G_SOURCE_REMOVE;
}

static void
on_activate (GApplication *app,
             SelfTest     *test)
{
  DemoWindow *window = demo_window_new (GTK_APPLICATION (app));

  gtk_window_present (GTK_WINDOW (window));
  if (test != NULL && test->window == NULL)
    {
      test->window = window;
      g_idle_add (self_test_idle, test);
    }
}

int
main (int   argc,
      char *argv[])
{
  gboolean self_test = FALSE;
  g_autofree char *screenshot = NULL;
  const GOptionEntry entries[] = {
    { "self-test", 0, 0, G_OPTION_ARG_NONE, &self_test,
      "Click the buttons, check the results, print TAP and exit", NULL },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &screenshot,
      "With --self-test, save the window as a PNG at the end", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GtkApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  SelfTest test = { NULL, };
  GThread *watchdog = NULL;
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  /* NON_UNIQUE: a self-test must drive its own window, not activate a demo
   * the user already has open. */
  app = gtk_application_new ("org.example.TetherGtkDemo", G_APPLICATION_NON_UNIQUE);
  if (self_test)
    {
      test.screenshot = screenshot;
      test.n_planned = 10 + (screenshot != NULL ? 1 : 0);
      watchdog = g_thread_new ("watchdog", watchdog_thread, NULL);
    }
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), self_test ? &test : NULL);

  /* The options were ours; GApplication gets the program name only. */
  status = g_application_run (G_APPLICATION (app), 1, argv);

  if (self_test)
    {
      g_mutex_lock (&watchdog_lock);
      watchdog_done = TRUE;
      g_cond_signal (&watchdog_cond);
      g_mutex_unlock (&watchdog_lock);
      g_thread_join (watchdog);
      status = test.failed || test.n_run == 0 ? 1 : 0;
    }
  return status;
}
