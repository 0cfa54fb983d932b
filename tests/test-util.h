/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <tether.h>

G_BEGIN_DECLS

/* Gates let a test hold the manager's thread inside one piece of work. */
typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean entered;
  gboolean open;
} Gate;

void               gate_init         (Gate         *gate);
void               gate_clear        (Gate         *gate);
void               gate_open         (Gate         *gate);
void               gate_enter        (Gate         *gate);
void               gate_wait_entered (Gate         *gate);
/* Waits until the gate is open, without entering it. */
void               gate_wait_open         (Gate         *gate);
void               block_work        (TetherWork   *work,
                                      gpointer      user_data);
TetherLoopManager *started           (const char   *id,
                                      const char   *task_type);

/* Polls @cond (an expression re-read on each turn, e.g. an atomic flag or
 * a getter) until it is true; fails the test if it is still false after a
 * minute. For states that a test can see but not be told about: a gate or
 * a future is better where the code under test can signal. */
#define POLL_TIMEOUT_USEC (60 * G_USEC_PER_SEC)
#define poll_until(cond)                                                      \
  G_STMT_START {                                                              \
    gint64 poll_deadline_ = g_get_monotonic_time () + POLL_TIMEOUT_USEC;      \
    while (!(cond))                                                           \
      {                                                                       \
        if (g_get_monotonic_time () > poll_deadline_)                         \
          g_error ("%s:%d: still not true after a minute: %s",                \
                   __FILE__, __LINE__, #cond);                                \
        g_usleep (100);                                                       \
      }                                                                       \
  } G_STMT_END

/* Blocks until the work's cancellable fires (woken by it, no polling);
 * enters @gate first, if any. */
void               wait_for_cancel   (TetherWork   *work,
                                      Gate         *gate);
/* A work function: wait_for_cancel() on the Gate in @user_data (or NULL),
 * then ends with G_IO_ERROR_CANCELLED. */
void               return_when_cancelled (TetherWork *work,
                                          gpointer    user_data);

/* A GThreadFunc: stops a manager from another thread, and checks that the
 * stop left it stopped. */
typedef struct
{
  TetherLoopManager *manager;
  TetherStopMode     mode;
} StopArgs;

gpointer           stop_thread       (gpointer      data);

/* Aborts the test program if watchdog_disarm() is not called within
 * @seconds: a hang fails the test with @what in the message, instead of
 * hanging. One watchdog at a time. */
void               watchdog_arm      (guint         seconds,
                                      const char   *what);
void               watchdog_disarm   (void);

/* g_test_run(), then waits, under a watchdog, for the manager threads that
 * last unrefs left draining, so that leak checkers find them gone. */
int                test_run          (void);

G_END_DECLS
