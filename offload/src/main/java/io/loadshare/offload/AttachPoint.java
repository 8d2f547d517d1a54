package io.loadshare.offload;

/**
 * An interface a fast-path program is attached to, as the program sends by it.
 *
 * @param name its name in the dispatcher's network namespace
 * @param index its ifindex there
 * @param mac its MAC, the source of every frame the program sends by it
 */
public record AttachPoint(String name, int index, long mac) {
}
