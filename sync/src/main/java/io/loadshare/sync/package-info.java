/** Session sync between the dispatchers of a tier, and the hand-over of sessions from one process to the next. */
package io.loadshare.sync;
