/* Runtime settings of the page, read before it starts.  A container that
 * serves the built page may overwrite this file to point the page at another
 * API without rebuilding it, e.g.
 *   window.USER_ACTIVITY_CONFIG = { apiBaseUrl: "http://localhost:8080" };
 * Left empty, the page uses the URL it was built with (VITE_API_BASE_URL),
 * or else its own origin. */
window.USER_ACTIVITY_CONFIG = window.USER_ACTIVITY_CONFIG || {};
