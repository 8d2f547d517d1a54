/** Typed settings records built once from validated HOCON, and the strict validation behind them. */
package io.loadshare.core.config;
