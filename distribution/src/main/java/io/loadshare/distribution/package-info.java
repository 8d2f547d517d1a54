/** The packaged dispatcher's entry points. */
package io.loadshare.distribution;
