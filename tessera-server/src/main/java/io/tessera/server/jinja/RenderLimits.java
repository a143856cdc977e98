package io.tessera.server.jinja;

/**
 * Bounds on one rendering.
 *
 * @param maxChars longest output, and longest string the template may build on the way
 * @param maxSteps template nodes rendered, expressions evaluated and loop iterations run, in total
 * @param maxNanos wall-clock time, checked at every step
 */
public record RenderLimits(int maxChars, long maxSteps, long maxNanos) {
    /** Longest list a template may build. */
    static final int MAX_LIST = 1 << 20;
    /** Longest {@code range}, as Jinja2's sandbox allows (MAX_RANGE). */
    static final int MAX_RANGE = 100_000;
}
