/** The data-plane foundation shared by every loadshare transport and dispatch mode. */
package io.loadshare.core;
