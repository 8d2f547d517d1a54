/** The shape every dispatch method has: the {@link io.loadshare.core.mode.DispatchMode} a dispatcher runs, and its arms. */
package io.loadshare.core.mode;
