/** LSNAT (RFC 2391): layer-3 dispatching by address translation in both directions (paper section 3.2). */
package io.loadshare.dispatch.l3;
