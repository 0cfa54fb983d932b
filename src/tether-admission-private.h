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
gboolean tether_admission_try_enter     (TetherAdmission *self,
                                         gsize           *ticket);
void     tether_admission_leave         (TetherAdmission *self);
gsize    tether_admission_count         (TetherAdmission *self);
void     tether_admission_note_taken    (TetherAdmission *self);
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

G_END_DECLS
