// The server this app activates tokens with and asks for new unlock slots:
// empty means the origin the app was loaded from. When the app has an origin
// of its own (the server's `app_origin`), the server that serves this file
// writes its public URL here, and the app's policy allows calls to it.
export const SERVER_URL = "";

/** The server's base URL: the one written above, else this origin. */
export function serverUrl() {
  return SERVER_URL || location.origin;
}
