/* Runtime settings of the page, read before it starts.  The web container
 * rewrites this file at every start from its environment
 * (docker-entrypoint.d/40-user-activity-config.sh), e.g.
 *   window.USER_ACTIVITY_CONFIG = { "apiBaseUrl": "http://localhost:8080",
 *     "apiKeys": { "read": "...", "write": "..." } };
 * Left empty, the page uses the URL it was built with (VITE_API_BASE_URL,
 * else REACT_APP_API_BASE_URL), or else its own origin, and asks for keys
 * under "Connection" when the API wants them. */
window.USER_ACTIVITY_CONFIG = window.USER_ACTIVITY_CONFIG || {};
