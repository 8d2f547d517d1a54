/** The paper's workloads, the project's own web server and load generator, and the namespace cluster they run in. */
package io.loadshare.distribution.bench;
