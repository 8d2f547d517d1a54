/**
 * {@code loadshare demo} and its relatives: the paper's cluster measured, the scale-out tier's kill and drain, the
 * embedded pipeline demo, and the workload server; shipped in the tarball, not in the Debian package.
 */
package io.loadshare.demo;
