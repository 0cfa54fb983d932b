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

/* Spins until the work's cancellable fires; enters @gate first, if any. */
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
