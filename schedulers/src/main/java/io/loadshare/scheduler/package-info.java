/** The load-sharing algorithms, each a {@link io.loadshare.core.scheduler.SchedulerFactory} plugin. */
package io.loadshare.scheduler;
