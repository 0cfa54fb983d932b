/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A D-Bus service on Tether: org.gnome.Tether.Example on the session bus.
 *
 * Method handlers run on the main thread and must never block it, so each
 * one hands its blocking work to the loop manager of its domain and replies
 * from the submit_async callback, which Tether runs back on the main thread.
 * "files" (task type "io") hashes files and sleeps, on a pool of two
 * threads: file calls are independent, so a missing file is answered at
 * once even while a slow read (a Sleep) holds one thread. "compute" (task
 * type "cpu") sums primes on a manager of its own, one at a time, so file
 * work never holds up a computation, and the other way round.
 *
 * Shutdown (Quit(), SIGTERM or SIGINT) refuses new calls, drains both
 * domains so that every call in flight still gets its reply, and exits 0.
 * A second signal during the drain cancels the work still running instead. */
#include <string.h>

#include <glib-unix.h>
#include <tether.h>

#define SERVICE_ID          "org.gnome.Tether.Example"
#define SERVICE_PATH        "/org/gnome/Tether/Example"
#define SERVICE_INTERFACE   "org.gnome.Tether.Example"

#define HASH_CHUNK_SIZE     (64 * 1024)
#define SLEEP_MAX_MS        60000
#define COMPUTE_MAX_N       100000000u
/* The main thread must never wait for room in a queue (that would stall
 * every other call), so a full queue is refused at once with Busy. */
#define MAX_PENDING         256
#define FILES_THREADS       2

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" SERVICE_INTERFACE "'>"
  "    <method name='HashFile'>"
  "      <arg direction='in' type='s' name='path'/>"
  "      <arg direction='out' type='s' name='hex_sha256'/>"
  "      <arg direction='out' type='t' name='size'/>"
  "    </method>"
  "    <method name='Sleep'>"
  "      <arg direction='in' type='u' name='ms'/>"
  "      <arg direction='out' type='u' name='slept'/>"
  "    </method>"
  "    <method name='Compute'>"
  "      <arg direction='in' type='u' name='n'/>"
  "      <arg direction='out' type='t' name='result'/>"
  "    </method>"
  "    <method name='GetStats'>"
  "      <arg direction='out' type='a{sa{sv}}' name='stats'/>"
  "    </method>"
  "    <method name='Quit'/>"
  "  </interface>"
  "</node>";

typedef enum
{
  SERVICE_ERROR_FAILED,
  SERVICE_ERROR_SHUTTING_DOWN,
  SERVICE_ERROR_BUSY,
  SERVICE_ERROR_NOT_FOUND,
  SERVICE_ERROR_PERMISSION_DENIED,
  SERVICE_ERROR_INVALID_ARGUMENT,
  SERVICE_ERROR_CANCELLED,
} ServiceError;

static const GDBusErrorEntry service_error_entries[] = {
  { SERVICE_ERROR_FAILED, SERVICE_INTERFACE ".Error.Failed" },
  { SERVICE_ERROR_SHUTTING_DOWN, SERVICE_INTERFACE ".Error.ShuttingDown" },
  { SERVICE_ERROR_BUSY, SERVICE_INTERFACE ".Error.Busy" },
  { SERVICE_ERROR_NOT_FOUND, SERVICE_INTERFACE ".Error.NotFound" },
  { SERVICE_ERROR_PERMISSION_DENIED, SERVICE_INTERFACE ".Error.PermissionDenied" },
  { SERVICE_ERROR_INVALID_ARGUMENT, SERVICE_INTERFACE ".Error.InvalidArgument" },
  { SERVICE_ERROR_CANCELLED, SERVICE_INTERFACE ".Error.Cancelled" },
};
G_STATIC_ASSERT (G_N_ELEMENTS (service_error_entries) == SERVICE_ERROR_CANCELLED + 1);

#define SERVICE_ERROR (service_error_quark ())

/* Registering the domain gives clients error names they can match on,
 * instead of GDBus's org.gtk.GDBus.UnmappedGError.Quark._... encoding. */
static GQuark
service_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("tether-example-service-error-quark", &quark,
                                      service_error_entries,
                                      G_N_ELEMENTS (service_error_entries));
  return (GQuark) quark;
}

/* Work and Tether report errors in the GIO and Tether domains; clients see
 * them under this service's names, with the original message. */
static ServiceError
service_error_code_for (const GError *error)
{
  if (error->domain == SERVICE_ERROR)
    return error->code;

  if (error->domain == TETHER_ERROR)
    {
      switch (error->code)
        {
        case TETHER_ERROR_NOT_RUNNING:
          return SERVICE_ERROR_SHUTTING_DOWN;
        case TETHER_ERROR_BUSY:
          return SERVICE_ERROR_BUSY;
        default:
          return SERVICE_ERROR_FAILED;
        }
    }

  if (error->domain == G_IO_ERROR)
    {
      switch (error->code)
        {
        case G_IO_ERROR_NOT_FOUND:
          return SERVICE_ERROR_NOT_FOUND;
        case G_IO_ERROR_PERMISSION_DENIED:
          return SERVICE_ERROR_PERMISSION_DENIED;
        case G_IO_ERROR_IS_DIRECTORY:
        case G_IO_ERROR_NOT_REGULAR_FILE:
        case G_IO_ERROR_INVALID_ARGUMENT:
        case G_IO_ERROR_INVALID_FILENAME:
          return SERVICE_ERROR_INVALID_ARGUMENT;
        case G_IO_ERROR_CANCELLED:
          return SERVICE_ERROR_CANCELLED;
        default:
          return SERVICE_ERROR_FAILED;
        }
    }

  return SERVICE_ERROR_FAILED;
}

static void
return_error (GDBusMethodInvocation *invocation,
              const GError          *error)
{
  g_autoptr(GError) mapped = g_error_new_literal (SERVICE_ERROR,
                                                  service_error_code_for (error),
                                                  error->message);

  g_dbus_method_invocation_return_gerror (invocation, mapped);
}

/* Work: each runs on its manager's thread and ends with the reply's tuple,
 * so the completion callback can send any of them unchanged. */

static void
hash_file_work (TetherWork *work,
                gpointer    user_data)
{
  const char *path = user_data;
  GCancellable *cancellable = tether_work_get_cancellable (work);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (HASH_CHUNK_SIZE);
  GError *error = NULL;
  guint64 size = 0;
  gssize n_read;

  stream = g_file_read (file, cancellable, &error);
  if (stream == NULL)
    {
      tether_work_return_error (work, error);
      return;
    }

  /* Every read checks the cancellable first, so a CANCEL stop interrupts a
   * large file between chunks. */
  while ((n_read = g_input_stream_read (G_INPUT_STREAM (stream), buffer, HASH_CHUNK_SIZE,
                                        cancellable, &error)) > 0)
    {
      g_checksum_update (checksum, buffer, n_read);
      size += n_read;
    }

  if (n_read < 0)
    {
      g_prefix_error (&error, "Reading '%s' failed after %" G_GUINT64_FORMAT " bytes: ",
                      path, size);
      tether_work_return_error (work, error);
      return;
    }

  tether_work_return_variant (work, g_variant_new ("(st)", g_checksum_get_string (checksum), size));
}

/* The domain work runs in, for log lines: a pool thread's manager is
 * "files/<n>", logged as "files". Returns a string for this thread. */
static const char *
domain_of (TetherWork *work)
{
  static GPrivate domain = G_PRIVATE_INIT (g_free);
  const char *id = tether_work_get_manager_id (work);
  const char *slash = strchr (id, '/');

  g_private_replace (&domain, slash != NULL ? g_strndup (id, slash - id) : g_strdup (id));
  return g_private_get (&domain);
}

/* Simulated slow I/O: blocks a "files" thread for @ms, as a synchronous
 * read from a slow device would. */
static void
sleep_work (TetherWork *work,
            gpointer    user_data)
{
  guint ms = GPOINTER_TO_UINT (user_data);
  GCancellable *cancellable = tether_work_get_cancellable (work);
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + (gint64) ms * G_TIME_SPAN_MILLISECOND;
  gint64 now = start;
  guint slept_ms;
  GPollFD pollfd;

  g_debug ("%s: Sleep %u ms started", domain_of (work), ms);

  /* Waiting on the cancellable's fd, rather than sleeping in slices, ends
   * the wait the moment a CANCEL stop fires it. */
  if (!g_cancellable_make_pollfd (cancellable, &pollfd))
    {
      tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_FAILED,
                                    "Sleep could not get a file descriptor to wait on");
      return;
    }

  while (now < deadline && !g_cancellable_is_cancelled (cancellable))
    {
      /* Round up: a poll that wakes a fraction of a millisecond early would
       * otherwise spin with a zero timeout until the deadline. */
      g_poll (&pollfd, 1, (deadline - now + 999) / 1000);
      now = g_get_monotonic_time ();
    }
  g_cancellable_release_fd (cancellable);

  slept_ms = (now - start) / G_TIME_SPAN_MILLISECOND;
  if (now < deadline)
    tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                  "Sleep of %u ms was cancelled after %u ms", ms, slept_ms);
  else
    tether_work_return_variant (work, g_variant_new ("(u)", slept_ms));
}

/* The sum of the primes below @n, by a sieve over odd numbers only: bit i
 * stands for 2i + 1 and is set once that number is known composite. */
static gboolean
sum_primes_below (guint32        n,
                  GCancellable  *cancellable,
                  guint64       *sum_out,
                  GError       **error)
{
  gsize n_odd = n / 2;
  g_autofree guint8 *composite = NULL;
  guint64 sum;

  if (n <= 2)
    {
      *sum_out = 0;
      return TRUE;
    }

  composite = g_malloc0 (n_odd / 8 + 1);
  sum = 2;

  for (gsize i = 1; i < n_odd; i++)
    {
      guint64 p = 2 * i + 1;

      /* Checked every 64 Ki numbers: often enough to stop within
       * milliseconds, rarely enough to cost nothing. */
      if ((i & 0xffff) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      if (composite[i / 8] & (1u << (i % 8)))
        continue;

      sum += p;
      for (guint64 j = p * p / 2; j < n_odd; j += p)
        composite[j / 8] |= 1u << (j % 8);
    }

  *sum_out = sum;
  return TRUE;
}

static void
compute_work (TetherWork *work,
              gpointer    user_data)
{
  guint32 n = GPOINTER_TO_UINT (user_data);
  GError *error = NULL;
  guint64 sum;

  if (!sum_primes_below (n, tether_work_get_cancellable (work), &sum, &error))
    {
      g_prefix_error (&error, "Compute(%u): ", n);
      tether_work_return_error (work, error);
      return;
    }

  tether_work_return_variant (work, g_variant_new ("(t)", sum));
}

#define TETHER_EXAMPLE_TYPE_SERVICE (tether_example_service_get_type ())
G_DECLARE_FINAL_TYPE (TetherExampleService, tether_example_service, TETHER_EXAMPLE, SERVICE, GApplication)

struct _TetherExampleService
{
  GApplication       parent_instance;

  GDBusNodeInfo     *introspection;
  guint              registration_id;

  /* Owned by the service, not taken from the registry: the service alone
   * decides when they stop (a DRAIN it must wait for before exiting), and
   * nothing else resolving "files" or "compute" through the registry can
   * share, stop or outlive them. The registry would keep them, registered
   * on the main thread, until the process exits. */
  TetherPool        *files;
  TetherLoopManager *compute;

  guint              sigterm_id;
  guint              sigint_id;

  guint              n_in_flight;
  gboolean           shutting_down;
  gboolean           cancelling;
};

G_DEFINE_FINAL_TYPE (TetherExampleService, tether_example_service, G_TYPE_APPLICATION)

/* One method call in flight: the application is held until it is answered. */
typedef struct
{
  TetherExampleService  *service;
  GDBusMethodInvocation *invocation;
} Call;

static void
on_work_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  TetherExampleService *self = call->service;
  g_autoptr(GError) error = NULL;
  GValue value = G_VALUE_INIT;

  if (TETHER_IS_POOL (source)
      ? !tether_pool_submit_finish (TETHER_POOL (source), result, &value, &error)
      : !tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result, &value, &error))
    return_error (g_steal_pointer (&call->invocation), error);
  else
    {
      g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                             g_value_get_variant (&value));
      g_value_unset (&value);
    }

  self->n_in_flight--;
  g_application_release (G_APPLICATION (self));
  g_object_unref (self);
  g_free (call);
}

/* Takes @invocation; the reply is sent by on_work_done(), on this thread.
 * @target is the domain: the files pool or the compute manager. */
static void
submit_call (TetherExampleService  *self,
             GDBusMethodInvocation *invocation,
             gpointer               target,
             const char            *task_type,
             TetherWorkFunc         func,
             gpointer               func_data,
             GDestroyNotify         func_data_destroy)
{
  Call *call = g_new0 (Call, 1);

  call->service = g_object_ref (self);
  call->invocation = invocation;
  self->n_in_flight++;
  g_application_hold (G_APPLICATION (self));

  g_debug ("%s: %s from %s submitted",
           TETHER_IS_POOL (target) ? tether_pool_get_id (target)
                                   : tether_loop_manager_get_id (target),
           g_dbus_method_invocation_get_method_name (invocation),
           g_dbus_method_invocation_get_sender (invocation));

  /* A rejection (Busy, or not running) also arrives through on_work_done. */
  if (TETHER_IS_POOL (target))
    tether_pool_submit_async (target, task_type, func, func_data, func_data_destroy,
                              G_PRIORITY_DEFAULT, NULL, on_work_done, call);
  else
    tether_loop_manager_submit_async (target, task_type, func, func_data, func_data_destroy,
                                      G_PRIORITY_DEFAULT, NULL, on_work_done, call);
}

static GVariant *
dup_all_stats (TetherExampleService *self)
{
  g_autoptr(GVariant) files = tether_pool_dup_stats (self->files);
  g_autoptr(GVariant) compute = tether_loop_manager_dup_stats (self->compute);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_variant_builder_add (&builder, "{s@a{sv}}", tether_pool_get_id (self->files), files);
  g_variant_builder_add (&builder, "{s@a{sv}}", tether_loop_manager_get_id (self->compute), compute);
  return g_variant_new ("(a{sa{sv}})", &builder);
}

/* One stop_managers() call: both managers' stops, counted down. */
typedef struct
{
  TetherExampleService *self;
  TetherStopMode        mode;
  guint                 n_pending;
} ManagersStop;

/* Runs in the main context, once per manager, when that manager's thread
 * has drained (or cancelled) its work and exited. stop_async() never
 * blocks, so the main loop meanwhile keeps sending the replies of drained
 * calls and refusing new ones. */
static void
on_manager_stopped (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ManagersStop *stop = user_data;

  if (TETHER_IS_POOL (source))
    tether_pool_stop_finish (TETHER_POOL (source), result, NULL);
  else
    tether_loop_manager_stop_finish (TETHER_LOOP_MANAGER (source), result, NULL);
  if (--stop->n_pending > 0)
    return;

  g_message ("Managers stopped (%s); exiting once the last replies are sent",
             stop->mode == TETHER_STOP_MODE_DRAIN ? "drained" : "cancelled");

  /* Releases the hold of stop_managers(). Calls still being answered keep
   * their own holds, so the application quits after the last reply. */
  g_application_release (G_APPLICATION (stop->self));
  g_object_unref (stop->self);
  g_free (stop);
}

static void
stop_managers (TetherExampleService *self,
               TetherStopMode        mode)
{
  ManagersStop *stop = g_new0 (ManagersStop, 1);

  stop->self = g_object_ref (self);
  stop->mode = mode;
  stop->n_pending = 2;
  g_application_hold (G_APPLICATION (self));
  /* Concurrent stops are safe: a CANCEL stop started during the DRAIN one
   * takes over the shutdown both are waiting for. */
  tether_pool_stop_async (self->files, mode, NULL, on_manager_stopped, stop);
  tether_loop_manager_stop_async (self->compute, mode, NULL, on_manager_stopped, stop);
}

static void
begin_shutdown (TetherExampleService *self,
                const char           *reason)
{
  if (self->shutting_down)
    return;

  g_message ("Shutting down (%s): refusing new calls, draining %u in flight",
             reason, self->n_in_flight);
  self->shutting_down = TRUE;
  stop_managers (self, TETHER_STOP_MODE_DRAIN);

  /* The hold taken in startup kept the service alive without calls. */
  g_application_release (G_APPLICATION (self));
}

static gboolean
on_unix_signal (gpointer user_data)
{
  TetherExampleService *self = user_data;

  if (!self->shutting_down)
    begin_shutdown (self, "signal");
  else if (!self->cancelling)
    {
      /* The usual second Ctrl-C: stop waiting for slow work. Calls still
       * queued or running get a Cancelled error instead of their result. */
      g_message ("Second signal: cancelling the %u calls in flight", self->n_in_flight);
      self->cancelling = TRUE;
      stop_managers (self, TETHER_STOP_MODE_CANCEL);
    }

  return G_SOURCE_CONTINUE;
}

static void
handle_method_call (GDBusConnection       *connection,
                    const char            *sender,
                    const char            *object_path,
                    const char            *interface_name,
                    const char            *method_name,
                    GVariant              *parameters,
                    GDBusMethodInvocation *invocation,
                    gpointer               user_data)
{
  TetherExampleService *self = user_data;

  if (self->shutting_down)
    {
      g_dbus_method_invocation_return_error (invocation, SERVICE_ERROR, SERVICE_ERROR_SHUTTING_DOWN,
                                             "The service is shutting down and accepts no more "
                                             "calls; %s was not run", method_name);
      return;
    }

  /* GDBus has already checked the arguments against the signatures in
   * introspection_xml; what is checked here is their values. */
  if (g_str_equal (method_name, "HashFile"))
    {
      const char *path;

      g_variant_get (parameters, "(&s)", &path);
      /* The service's working directory is not the caller's. */
      if (!g_path_is_absolute (path))
        g_dbus_method_invocation_return_error (invocation, SERVICE_ERROR,
                                               SERVICE_ERROR_INVALID_ARGUMENT,
                                               "HashFile needs an absolute path, not '%s'", path);
      else
        submit_call (self, invocation, self->files, "io", hash_file_work, g_strdup (path), g_free);
    }
  else if (g_str_equal (method_name, "Sleep"))
    {
      guint32 ms;

      g_variant_get (parameters, "(u)", &ms);
      if (ms > SLEEP_MAX_MS)
        g_dbus_method_invocation_return_error (invocation, SERVICE_ERROR,
                                               SERVICE_ERROR_INVALID_ARGUMENT,
                                               "Sleep takes at most %u ms, not %u",
                                               SLEEP_MAX_MS, ms);
      else
        submit_call (self, invocation, self->files, "io", sleep_work, GUINT_TO_POINTER (ms), NULL);
    }
  else if (g_str_equal (method_name, "Compute"))
    {
      guint32 n;

      g_variant_get (parameters, "(u)", &n);
      /* The sieve takes n / 16 bytes. */
      if (n > COMPUTE_MAX_N)
        g_dbus_method_invocation_return_error (invocation, SERVICE_ERROR,
                                               SERVICE_ERROR_INVALID_ARGUMENT,
                                               "Compute takes n up to %u, not %u",
                                               COMPUTE_MAX_N, n);
      else
        submit_call (self, invocation, self->compute, "cpu", compute_work, GUINT_TO_POINTER (n), NULL);
    }
  else if (g_str_equal (method_name, "GetStats"))
    {
      /* Counters and a sort of at most 1024 samples per manager: cheap
       * enough to answer on the main thread. */
      g_dbus_method_invocation_return_value (invocation, dup_all_stats (self));
    }
  else if (g_str_equal (method_name, "Quit"))
    {
      g_autofree char *reason = g_strdup_printf ("Quit() from %s", sender);

      g_dbus_method_invocation_return_value (invocation, NULL);
      begin_shutdown (self, reason);
    }
  else
    g_assert_not_reached ();
}

static const GDBusInterfaceVTable interface_vtable = {
  .method_call = handle_method_call,
};

static gboolean
tether_example_service_dbus_register (GApplication     *application,
                                      GDBusConnection  *connection,
                                      const char       *object_path,
                                      GError          **error)
{
  TetherExampleService *self = TETHER_EXAMPLE_SERVICE (application);

  if (!G_APPLICATION_CLASS (tether_example_service_parent_class)->dbus_register (application,
                                                                                 connection,
                                                                                 object_path,
                                                                                 error))
    return FALSE;

  /* The interface lives at a fixed path rather than the application's
   * object path, so that clients need not derive it from the id. */
  self->registration_id =
    g_dbus_connection_register_object (connection, SERVICE_PATH,
                                       self->introspection->interfaces[0],
                                       &interface_vtable, self, NULL, error);
  return self->registration_id != 0;
}

static void
tether_example_service_dbus_unregister (GApplication    *application,
                                        GDBusConnection *connection,
                                        const char      *object_path)
{
  TetherExampleService *self = TETHER_EXAMPLE_SERVICE (application);

  if (self->registration_id != 0)
    {
      g_dbus_connection_unregister_object (connection, self->registration_id);
      self->registration_id = 0;
    }

  G_APPLICATION_CLASS (tether_example_service_parent_class)->dbus_unregister (application,
                                                                              connection,
                                                                              object_path);
}

static void
tether_example_service_startup (GApplication *application)
{
  TetherExampleService *self = TETHER_EXAMPLE_SERVICE (application);
  g_autoptr(GError) error = NULL;

  G_APPLICATION_CLASS (tether_example_service_parent_class)->startup (application);

  self->files = tether_pool_new ("files", FILES_THREADS);
  self->compute = tether_loop_manager_new ("compute");
  tether_pool_set_max_pending (self->files, MAX_PENDING);
  tether_loop_manager_set_max_pending (self->compute, MAX_PENDING);

  /* Fresh ones cannot be running already: a failure is a bug. */
  if (!tether_pool_start (self->files, "io", &error) ||
      !tether_loop_manager_start (self->compute, "cpu", &error))
    g_error ("Cannot start the service's loop managers: %s", error->message);

  self->sigterm_id = g_unix_signal_add (SIGTERM, on_unix_signal, self);
  self->sigint_id = g_unix_signal_add (SIGINT, on_unix_signal, self);

  /* A service with no call in flight would exit after ten seconds; this
   * hold keeps it until begin_shutdown(). */
  g_application_hold (application);
  g_message ("Serving %s at %s", SERVICE_INTERFACE, SERVICE_PATH);
}

static void
tether_example_service_shutdown (GApplication *application)
{
  TetherExampleService *self = TETHER_EXAMPLE_SERVICE (application);

  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);

  /* Already stopped by begin_shutdown(); dropping them joins nothing. */
  g_clear_object (&self->files);
  g_clear_object (&self->compute);

  G_APPLICATION_CLASS (tether_example_service_parent_class)->shutdown (application);
}

/* D-Bus activation may call Activate(); a service has no window to show,
 * and being started was all it needed. */
static void
tether_example_service_activate (GApplication *application)
{
}

static void
tether_example_service_finalize (GObject *object)
{
  TetherExampleService *self = TETHER_EXAMPLE_SERVICE (object);

  g_clear_pointer (&self->introspection, g_dbus_node_info_unref);

  G_OBJECT_CLASS (tether_example_service_parent_class)->finalize (object);
}

static void
tether_example_service_class_init (TetherExampleServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = tether_example_service_finalize;
  application_class->dbus_register = tether_example_service_dbus_register;
  application_class->dbus_unregister = tether_example_service_dbus_unregister;
  application_class->startup = tether_example_service_startup;
  application_class->shutdown = tether_example_service_shutdown;
  application_class->activate = tether_example_service_activate;
}

static void
tether_example_service_init (TetherExampleService *self)
{
  /* The XML is a constant of this file: a parse error is a bug. */
  self->introspection = g_dbus_node_info_new_for_xml (introspection_xml, NULL);
  g_assert (self->introspection != NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GApplication) app = g_object_new (TETHER_EXAMPLE_TYPE_SERVICE,
                                              "application-id", SERVICE_ID,
                                              "flags", G_APPLICATION_IS_SERVICE,
                                              NULL);

  return g_application_run (app, argc, argv);
}
