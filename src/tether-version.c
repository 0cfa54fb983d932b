/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-version.h"

/**
 * tether_get_major_version:
 *
 * Gets the major version of the Tether library loaded at run time, which
 * may differ from %TETHER_MAJOR_VERSION, the one compiled against.
 *
 * Thread: any thread.
 *
 * Returns: the major version
 *
 * Since: 1.0
 */
guint
tether_get_major_version (void)
{
  return TETHER_MAJOR_VERSION;
}

/**
 * tether_get_minor_version:
 *
 * Gets the minor version of the Tether library loaded at run time.
 *
 * Thread: any thread.
 *
 * Returns: the minor version
 *
 * Since: 1.0
 */
guint
tether_get_minor_version (void)
{
  return TETHER_MINOR_VERSION;
}

/**
 * tether_get_micro_version:
 *
 * Gets the micro version of the Tether library loaded at run time.
 *
 * Thread: any thread.
 *
 * Returns: the micro version
 *
 * Since: 1.0
 */
guint
tether_get_micro_version (void)
{
  return TETHER_MICRO_VERSION;
}

/**
 * tether_check_version:
 * @required_major: the major version needed
 * @required_minor: the minor version needed
 * @required_micro: the micro version needed
 *
 * Checks that the Tether library loaded at run time is compatible with the
 * given version: the same major version, and at least the given minor and
 * micro versions. Language bindings, which cannot use
 * %TETHER_CHECK_VERSION, call this.
 *
 * Thread: any thread.
 *
 * Returns: (nullable): %NULL if the library is compatible, or a string
 *   owned by Tether that says why not
 *
 * Since: 1.0
 */
const char *
tether_check_version (guint required_major,
                      guint required_minor,
                      guint required_micro)
{
  /* Through functions, not the macros: with major version 0 a comparison
   * with the literal is "always false" to the compiler. */
  guint major = tether_get_major_version ();
  guint minor = tether_get_minor_version ();
  guint micro = tether_get_micro_version ();

  if (required_major > major)
    return "Tether version too old (major mismatch)";
  if (required_major < major)
    return "Tether version too new (major mismatch)";
  if (required_minor > minor)
    return "Tether version too old (minor mismatch)";
  if (required_minor == minor && required_micro > micro)
    return "Tether version too old (micro mismatch)";
  return NULL;
}
