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

#define TETHER_AVAILABLE_IN_ALL _TETHER_EXTERN
#define TETHER_AVAILABLE_IN_1_0 _TETHER_EXTERN
