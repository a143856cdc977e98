package io.tessera.core.structured;

/**
 * A schema, regular expression or choice list that cannot be compiled: an unsupported construct,
 * a syntax error, or one over the compile limits. The message names the construct at fault.
 */
public final class ConstraintException extends IllegalArgumentException {
    public ConstraintException(String message) {
        super(message);
    }
}
