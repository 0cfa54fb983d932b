/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-admission-private.h"
#endif

#include "tether-queue-source-private.h"

G_BEGIN_DECLS

/* A manager's admission and backpressure: whether it is open to lock-free
 * submissions, how many submissions it accepted and its thread took (so
 * how many are pending, and whether a stop has drained them), its bound on
 * pending work and the waits for room under it. The fields are
 * tether-admission.c's; the struct is in this header so that the core can
 * embed it. Fields marked "lock" are under the manager's lock, which the
 * caller holds and passes in. */
typedef struct
{
  gsize    n_accepted TETHER_CACHELINE_ALIGNED; /* atomic: submissions through the queue */
  gsize    n_taken TETHER_CACHELINE_ALIGNED;    /* atomic, one writer: the manager's thread */

  /* Read on every submission, written rarely. */
  int      closed TETHER_CACHELINE_ALIGNED;     /* atomic: lock-free submissions refused */
  guint    max_pending;    /* atomic; 0: unbounded */
  guint    room_waiters;   /* atomic: submitters blocked waiting for room */
  gint64   submit_timeout; /* lock: usec a submitter waits for room; -1: no limit */
  GCond    room_cond;      /* lock */
  TetherQueueSource *source; /* poked when a count is taken back */
} TetherAdmission;

void     tether_admission_init          (TetherAdmission   *self,
                                         TetherQueueSource *source);
void     tether_admission_clear         (TetherAdmission *self);
void     tether_admission_open          (TetherAdmission *self);
gboolean tether_admission_is_open       (TetherAdmission *self);
void     tether_admission_close_locked  (TetherAdmission *self);
void     tether_admission_leave         (TetherAdmission *self);
guint    tether_admission_get_n_pending (TetherAdmission *self);
gsize    tether_admission_get_n_accepted (TetherAdmission *self);
gboolean tether_admission_is_drained    (TetherAdmission *self);
gboolean tether_admission_has_room      (TetherAdmission *self);
gboolean tether_admission_is_bounded    (TetherAdmission *self);
guint    tether_admission_get_max_pending (TetherAdmission *self);
gboolean tether_admission_set_max_pending (TetherAdmission *self,
                                           GMutex          *lock,
                                           guint            max_pending);
gint64   tether_admission_get_submit_timeout_locked (TetherAdmission *self);
gboolean tether_admission_set_submit_timeout_locked (TetherAdmission *self,
                                                     gint64           usec);
guint    tether_admission_get_n_waiting (TetherAdmission *self);
void     tether_admission_wait_locked   (TetherAdmission *self,
                                         GMutex          *lock,
                                         gint64           deadline);
void     tether_admission_wake_waiters  (TetherAdmission *self,
                                         GMutex          *lock);
void     tether_admission_wake_waiters_locked (TetherAdmission *self);
void     tether_admission_reset_in_child (TetherAdmission *self);

/* The hot paths, inline. */

/* Any thread, without the lock: count the submission, then look whether
 * the manager is open. A stop that closes it in between sees the count and
 * waits for the push; a submission that finds it closed takes its count
 * back. A bounded manager is never entered this way: its submitters take
 * the lock and wait for room. *@ticket is the count before this one. */
static inline gboolean
tether_admission_try_enter (TetherAdmission *self,
                            gsize           *ticket)
{
  if (g_atomic_int_get (&self->max_pending) != 0)
    return FALSE;
  *ticket = g_atomic_pointer_add (&self->n_accepted, 1);
  if (!g_atomic_int_get (&self->closed))
    return TRUE;
  tether_admission_leave (self);
  return FALSE;
}

/* With the manager's lock held, the checks passed: one more submission.
 * Returns the count before it. */
static inline gsize
tether_admission_count (TetherAdmission *self)
{
  return g_atomic_pointer_add (&self->n_accepted, 1);
}

/* The manager's thread, for each submission it takes from the queue. The
 * only writer, so no read-modify-write: its own plain read races with no
 * write, and the store is atomic for readers. The store is sequentially
 * consistent, which the room handshake needs: it stores n_taken and then
 * reads room_waiters (see tether_admission_wake_waiters()), and a release
 * store could pass that read. */
static inline void
tether_admission_note_taken (TetherAdmission *self)
{
  g_atomic_pointer_set (&self->n_taken, self->n_taken + 1);
}

G_END_DECLS
