package io.tessera.planner.sim;

import java.util.SplittableRandom;

/**
 * A distribution of token counts: {@code 512} (fixed), {@code uniform:128:1024},
 * {@code normal:512:128} (mean, standard deviation), {@code exp:512} (mean). Draws are clamped
 * to at least 1.
 */
public record LengthDist(String kind, double a, double b) {

    public static LengthDist fixed(int n) {
        return new LengthDist("fixed", n, n);
    }

    public static LengthDist parse(String s) {
        String[] p = s.trim().toLowerCase().split(":");
        try {
            return switch (p[0]) {
                case "uniform" -> check(new LengthDist("uniform", Double.parseDouble(p[1]), Double.parseDouble(p[2])), s);
                case "normal" -> check(new LengthDist("normal", Double.parseDouble(p[1]), Double.parseDouble(p[2])), s);
                case "exp" -> check(new LengthDist("exp", Double.parseDouble(p[1]), 0), s);
                default -> {
                    if (p.length != 1) {
                        throw new IllegalArgumentException();
                    }
                    yield check(fixed(Integer.parseInt(p[0])), s);
                }
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad length distribution '" + s
                    + "' (use N, uniform:A:B, normal:MEAN:STD or exp:MEAN)");
        }
    }

    private static LengthDist check(LengthDist d, String s) {
        if (d.a < 1 || d.b < 0 || (d.kind.equals("uniform") && d.b < d.a)) {
            throw new IllegalArgumentException("bad length distribution '" + s + "'");
        }
        return d;
    }

    public int sample(SplittableRandom r) {
        double v = switch (kind) {
            case "uniform" -> a + Math.floor(r.nextDouble() * (b - a + 1));
            case "normal" -> a + b * gaussian(r);
            case "exp" -> -a * Math.log(1 - r.nextDouble());
            default -> a;
        };
        return (int) Math.max(1, Math.round(v));
    }

    public double mean() {
        return switch (kind) {
            case "uniform" -> (a + b) / 2;
            default -> a;
        };
    }

    /** An upper bound on draws (for capacity checks): the max of a uniform, mean + 4 sd, 5 x an exponential's mean. */
    public int max() {
        return (int) Math.ceil(switch (kind) {
            case "uniform" -> b;
            case "normal" -> a + 4 * b;
            case "exp" -> 5 * a;
            default -> a;
        });
    }

    private static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case "fixed" -> String.valueOf((int) a);
            case "exp" -> "exp:" + (int) a;
            default -> kind + ":" + (int) a + ":" + (int) b;
        };
    }
}
