/** The scheduler plugin SPI and the {@link java.util.ServiceLoader} registry that finds schedulers by name. */
package io.loadshare.core.scheduler;
