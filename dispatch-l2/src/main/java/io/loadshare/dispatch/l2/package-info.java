/** LSMAC: layer-2 dispatching by MAC rewriting, with backends that reply straight to the client (paper section 3.1). */
package io.loadshare.dispatch.l2;
