/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <glib.h>

#if defined(_WIN32) && !defined(__CYGWIN__)
# define _TETHER_EXPORT __declspec(dllexport)
# define _TETHER_IMPORT __declspec(dllimport)
#elif defined(__GNUC__) && (__GNUC__ >= 4)
# define _TETHER_EXPORT __attribute__((__visibility__("default")))
# define _TETHER_IMPORT
#else
# define _TETHER_EXPORT
# define _TETHER_IMPORT
#endif

#ifdef TETHER_COMPILATION
# define _TETHER_API _TETHER_EXPORT
#else
# define _TETHER_API _TETHER_IMPORT
#endif

#define _TETHER_EXTERN _TETHER_API extern

/**
 * TETHER_ENCODE_VERSION:
 * @major: a major version
 * @minor: a minor version
 *
 * Encodes a Tether version as an integer, to compare with
 * %TETHER_VERSION_MIN_REQUIRED and %TETHER_VERSION_MAX_ALLOWED.
 *
 * Since: 1.0
 */
#define TETHER_ENCODE_VERSION(major,minor) ((major) << 16 | (minor) << 8)

/**
 * TETHER_VERSION_1_0:
 *
 * The encoded version 1.0, for %TETHER_VERSION_MIN_REQUIRED and
 * %TETHER_VERSION_MAX_ALLOWED.
 *
 * Since: 1.0
 */
#define TETHER_VERSION_1_0 (TETHER_ENCODE_VERSION (1, 0))

/**
 * TETHER_VERSION_CUR_STABLE:
 *
 * The encoded version of the current stable API.
 *
 * Since: 1.0
 */
#define TETHER_VERSION_CUR_STABLE TETHER_VERSION_1_0

/**
 * TETHER_VERSION_MIN_REQUIRED:
 *
 * Define it before including `<tether.h>` to the oldest Tether version
 * (encoded, e.g. %TETHER_VERSION_1_0) the code must work with: symbols
 * deprecated since then warn. Defaults to %TETHER_VERSION_CUR_STABLE.
 *
 * Since: 1.0
 */
#ifndef TETHER_VERSION_MIN_REQUIRED
# define TETHER_VERSION_MIN_REQUIRED TETHER_VERSION_CUR_STABLE
#endif

/**
 * TETHER_VERSION_MAX_ALLOWED:
 *
 * Define it before including `<tether.h>` to the newest Tether version
 * (encoded) the code may use: symbols added after it warn. Defaults to
 * %TETHER_VERSION_CUR_STABLE.
 *
 * Since: 1.0
 */
#ifndef TETHER_VERSION_MAX_ALLOWED
# define TETHER_VERSION_MAX_ALLOWED TETHER_VERSION_CUR_STABLE
#endif

#if TETHER_VERSION_MAX_ALLOWED < TETHER_VERSION_MIN_REQUIRED
# error "TETHER_VERSION_MAX_ALLOWED must be >= TETHER_VERSION_MIN_REQUIRED"
#endif

#define TETHER_AVAILABLE_IN_ALL _TETHER_EXTERN

#if TETHER_VERSION_MAX_ALLOWED < TETHER_VERSION_1_0
# define TETHER_AVAILABLE_IN_1_0 G_UNAVAILABLE (1, 0) _TETHER_EXTERN
#else
# define TETHER_AVAILABLE_IN_1_0 _TETHER_EXTERN
#endif

/**
 * TETHER_DEPRECATED_IN_1_0:
 *
 * Marks a symbol deprecated in 1.0: using it warns when
 * %TETHER_VERSION_MIN_REQUIRED is 1.0 or later.
 *
 * Since: 1.0
 */
/**
 * TETHER_DEPRECATED_IN_1_0_FOR:
 * @f: the symbol to use instead
 *
 * Marks a symbol deprecated in 1.0 in favour of @f: using it warns when
 * %TETHER_VERSION_MIN_REQUIRED is 1.0 or later.
 *
 * Since: 1.0
 */
#if TETHER_VERSION_MIN_REQUIRED >= TETHER_VERSION_1_0
# define TETHER_DEPRECATED_IN_1_0 G_DEPRECATED _TETHER_EXTERN
# define TETHER_DEPRECATED_IN_1_0_FOR(f) G_DEPRECATED_FOR (f) _TETHER_EXTERN
#else
# define TETHER_DEPRECATED_IN_1_0 _TETHER_EXTERN
# define TETHER_DEPRECATED_IN_1_0_FOR(f) _TETHER_EXTERN
#endif
