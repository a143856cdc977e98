package io.tessera.server.jinja;

/** Steps, deadline and size checks of one rendering. Once exceeded, every further step fails at once. */
final class Budget {
    private final RenderLimits limits;
    private final long deadline;
    private long stepsLeft;
    private String exceeded;

    Budget(RenderLimits limits) {
        this.limits = limits;
        this.deadline = System.nanoTime() + limits.maxNanos();
        this.stepsLeft = limits.maxSteps();
    }

    void step() {
        if (exceeded == null && --stepsLeft < 0) {
            exceeded = "more than " + limits.maxSteps() + " steps (template nodes and loop iterations)";
        }
        if (exceeded == null && System.nanoTime() - deadline > 0) {
            exceeded = "more than " + limits.maxNanos() / 1_000_000 + " ms";
        }
        if (exceeded != null) {
            throw new TemplateException.LimitExceeded(exceeded);
        }
    }

    /** Refuses a string of {@code length} characters, before it is built, when it is over the limit. */
    void checkChars(long length, String what) {
        if (length > limits.maxChars()) {
            fail(what + " would build " + length + " characters, more than the output limit of "
                    + limits.maxChars());
        }
    }

    void checkOutput(long length) {
        if (length > limits.maxChars()) {
            fail("the output grew over limit of " + limits.maxChars() + " characters");
        }
    }

    void checkList(long size) {
        if (size > RenderLimits.MAX_LIST) {
            fail("a list of " + size + " items, more than " + RenderLimits.MAX_LIST);
        }
    }

    int maxChars() {
        return limits.maxChars();
    }

    void fail(String why) {
        if (exceeded == null) {
            exceeded = why;
        }
        throw new TemplateException.LimitExceeded(exceeded);
    }
}
