package io.tessera.core.kernel;

import java.util.Locale;

/**
 * Which kernels multiply the weights: the native library ({@link NativeKernels}) or the Java Vector
 * API kernels, the portable reference. Both give the same bits; the choice is speed only. The
 * choice is process-wide, made once at start ({@code --kernels}, or the system property
 * {@code tessera.kernels}; default auto), and read by {@link MatMul} at each operation.
 */
public final class Kernels {

    /** The {@code --kernels} choices. */
    public enum Mode {
        /** Native when the library loads on this CPU, else Java (saying why). */
        AUTO,
        /** Native, or an error. */
        NATIVE,
        /** The Java kernels. */
        JAVA;

        public static Mode parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--kernels: '" + s + "' is not one of auto, native, java");
            }
        }
    }

    private static volatile NativeKernels active;
    private static volatile String status;

    static {
        // the property is read once; a bad value or an impossible "native" leaves auto, and status() says why
        String why = null;
        try {
            use(Mode.parse(System.getProperty("tessera.kernels", "auto")));
        } catch (IllegalArgumentException | IllegalStateException e) {
            why = e.getMessage();
        }
        if (why != null) {
            use(Mode.AUTO);
            status = status + "; -Dtessera.kernels ignored: " + why;
        }
    }

    private Kernels() {
    }

    /** The best native variant this CPU runs, loaded once; or why there is none. */
    private static final class Best {
        static final NativeKernels KERNELS;
        static final String WHY_NOT;

        static {
            NativeKernels k = null;
            String why = null;
            try {
                NativeKernels generic = NativeKernels.load(NativeVariant.GENERIC);
                String forced = System.getProperty("tessera.native.variant");
                NativeVariant v = forced != null ? NativeVariant.parse(forced) : NativeVariant.best(generic.cpu());
                if (!v.runsOn(generic.cpu())) {
                    throw new IllegalStateException("this CPU (" + generic.cpu() + ") cannot run the " + v.id() + " variant");
                }
                k = v == NativeVariant.GENERIC ? generic : NativeKernels.load(v);
            } catch (RuntimeException | LinkageError e) {
                why = e.getMessage() == null ? e.toString() : e.getMessage();
            }
            KERNELS = k;
            WHY_NOT = why;
        }
    }

    /**
     * Selects the kernels and returns the one line that says which run (and, when auto falls back,
     * why not the native ones). {@link Mode#NATIVE} throws when the library cannot be used.
     */
    public static synchronized String use(Mode mode) {
        NativeKernels k = switch (mode) {
            case JAVA -> null;
            case AUTO -> Best.KERNELS;
            case NATIVE -> {
                if (Best.KERNELS == null) {
                    throw new IllegalStateException("--kernels native: " + Best.WHY_NOT);
                }
                yield Best.KERNELS;
            }
        };
        active = k;
        status = k != null ? "kernels: " + k
                : mode == Mode.JAVA ? "kernels: java (--kernels java)"
                : "kernels: java (" + Best.WHY_NOT + ")";
        return status;
    }

    /** The native kernels in use, or null when the Java kernels run. */
    public static NativeKernels active() {
        return active;
    }

    /** "native avx512" or "java": what {@code bench --json} and {@code info --system} name. */
    public static String name() {
        NativeKernels k = active;
        return k == null ? "java" : k.toString();
    }

    /** The line {@link #use} returned last. */
    public static String status() {
        return status;
    }

    /** The best native variant for this CPU, loaded, or null; see {@link #unavailableReason}. */
    public static NativeKernels best() {
        return Best.KERNELS;
    }

    /** Why there are no native kernels, or null when there are. */
    public static String unavailableReason() {
        return Best.WHY_NOT;
    }
}
