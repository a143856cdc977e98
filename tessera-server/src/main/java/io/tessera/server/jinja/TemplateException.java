package io.tessera.server.jinja;

/** A template that cannot be parsed, or whose rendering failed (Jinja2's TemplateError, TypeError...). */
public class TemplateException extends RuntimeException {
    public TemplateException(String message) {
        super(message);
    }

    /** The template called {@code raise_exception(message)}: it refuses its input. */
    public static final class Raised extends TemplateException {
        public Raised(String message) {
            super(message);
        }
    }

    /** The rendering broke one of its {@link RenderLimits}. */
    public static final class LimitExceeded extends TemplateException {
        public LimitExceeded(String message) {
            super(message);
        }
    }
}
