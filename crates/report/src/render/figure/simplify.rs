//! Fewer points for the same picture: a line of a thousand points on a plot a few hundred pixels
//! wide is drawn with the points it needs to stay within [`TOLERANCE`] of every original point
//! (Ramer–Douglas–Peucker: keep the point farthest from the chord while it is farther than the
//! tolerance, then do the same on both halves). The end points are always kept; the result
//! depends only on the input, in order, so it is the same bytes on every machine.

/// How far, in pixels, the drawn line may pass from a point it leaves out: a quarter of a pixel,
/// below what a screen or a printer at the figure's size shows.
pub const TOLERANCE: f64 = 0.25;

/// The points of `line` (pixel coordinates) that keep it within [`TOLERANCE`] of every point.
pub fn simplify(line: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if line.len() < 3 {
        return line.to_vec();
    }
    let mut keep = vec![false; line.len()];
    keep[0] = true;
    keep[line.len() - 1] = true;
    let mut spans = vec![(0, line.len() - 1)];
    while let Some((first, last)) = spans.pop() {
        let farthest = (first + 1..last).map(|i| (i, distance_to_segment(line[i], line[first], line[last]))).fold(
            None,
            |best: Option<(usize, f64)>, (i, d)| match best {
                Some((_, bd)) if bd >= d => best,
                _ => Some((i, d)),
            },
        );
        if let Some((i, d)) = farthest
            && d > TOLERANCE
        {
            keep[i] = true;
            spans.push((first, i));
            spans.push((i, last));
        }
    }
    line.iter().zip(keep).filter_map(|(&p, k)| k.then_some(p)).collect()
}

/// The distance from `p` to the segment from `a` to `b`.
fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0) } else { 0.0 };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_keeps_its_ends() {
        let line: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64 * 0.5, 300.0 - i as f64 * 0.25)).collect();
        assert_eq!(simplify(&line), vec![line[0], line[999]]);
    }

    #[test]
    fn every_left_out_point_lies_within_the_tolerance_of_the_drawn_line() {
        // A noisy decay: 1000 points, a slope, a kink and a sawtooth of a few pixels.
        let line: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                let x = i as f64 * 0.6;
                let kink = if i > 400 { (i - 400) as f64 * 0.3 } else { 0.0 };
                (x, 50.0 + x * 0.2 + kink + ((i * 7919) % 13) as f64 * 0.3)
            })
            .collect();
        let kept = simplify(&line);
        assert!(kept.len() < line.len() && kept.len() > 10, "{}", kept.len());
        assert_eq!((kept[0], kept[kept.len() - 1]), (line[0], line[999]));
        for &p in &line {
            let nearest = kept.windows(2).map(|w| distance_to_segment(p, w[0], w[1])).fold(f64::INFINITY, f64::min);
            assert!(nearest <= TOLERANCE, "{p:?} is {nearest} px from the drawn line");
        }
    }

    #[test]
    fn short_lines_are_kept_whole() {
        assert_eq!(simplify(&[(0.0, 0.0), (1.0, 5.0)]), vec![(0.0, 0.0), (1.0, 5.0)]);
    }
}
