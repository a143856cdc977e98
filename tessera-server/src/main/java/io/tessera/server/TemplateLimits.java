package io.tessera.server;

import java.time.Duration;

/**
 * Bounds on one rendering of a chat template. A template comes from the model file, so it is not
 * trusted: one that loops without end, or grows its output without bound, must cost one request a
 * 400, never the server its memory or a thread.
 *
 * @param maxOutputChars longest rendered prompt, and longest string the template may build on the way
 * @param maxSteps template nodes rendered, expressions evaluated and loop iterations run, in total
 * @param maxRenderTime wall-clock time one rendering may take, checked at every step
 */
public record TemplateLimits(int maxOutputChars, long maxSteps, Duration maxRenderTime) {

    /**
     * Room for a prompt twice the default request body ({@link ServerConfig#DEFAULT_MAX_BODY_BYTES}):
     * a prompt is the messages plus the template's own text. Two million steps are some tens of
     * thousands of messages for any template shipped with a model; two seconds are far beyond what
     * a real conversation takes.
     */
    public static final TemplateLimits DEFAULTS = new TemplateLimits(8 << 20, 2_000_000, Duration.ofSeconds(2));

    public TemplateLimits {
        if (maxOutputChars < 1024) {
            throw new IllegalArgumentException("the template output limit must be at least 1024 characters, got "
                    + maxOutputChars);
        }
        if (maxSteps < 1000) {
            throw new IllegalArgumentException("the template step limit must be at least 1000, got " + maxSteps);
        }
        if (maxRenderTime.isNegative() || maxRenderTime.isZero() || maxRenderTime.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("the template time limit must be positive and at most an hour, got "
                    + maxRenderTime);
        }
    }
}
