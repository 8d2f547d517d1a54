/** Flow identity and the per-event-loop session table that pins each flow to one backend. */
package io.loadshare.core.session;
