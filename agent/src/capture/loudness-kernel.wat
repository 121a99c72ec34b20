;; The loudness meter's per-sample work (loudness.ts), in 128-bit SIMD lanes:
;;   - per pair of channels in f64x2 (the same double arithmetic, in the same order, as one
;;     channel at a time): K-weighting (the shelf, then the high-pass, transposed direct form II),
;;     the block's sum of squares of the K-weighted samples, and the samples' own sum of squares;
;;   - per quad of channels in f32x4 (exact for 16- and 24-bit samples; a true peak to 1e-6 dB):
;;     the true peak (BS.1770-4 Annex 2 interpolator, oversampled 4× or 2×), the sample peak and
;;     the clips.
;; Assembled by `npm run build:wasm` into loudness-kernel.wasm.ts; loudness-kernel.ts owns the
;; memory layout below and is the only caller.
;;
;; Memory:
;;   $coef: b0 b1 b2 a1 a2 (the shelf), h0 h1 h2 g1 g2 (the high-pass), each an f64x2 holding its
;;          value in both lanes; then the true-peak interpolator's halves as f32x4: P0..P5, M0..M5
;;          (phases 0 and 3), Q0..Q5, N0..N5 (phases 1 and 2);
;;   $pairState: 6 slots of `pairs` f64x2 (channels 2p and 2p + 1 in pair p's lanes):
;;          z1 z2 z3 z4 (the biquads' state), the block's K-weighted sum of squares, the samples'
;;          sum of squares;
;;   $quadState: 3 slots of `quads` f32x4 or i32x4 (channels 4q..4q + 3): the true peak, the sample
;;          peak, the clips; then per quad its last 11 samples (11 f32x4, oldest first);
;;   $samples: `frames` interleaved frames of `channels` f32 samples, then 4 more (the last pair or
;;          quad of a channel count that is not a multiple reads them into lanes nobody reads);
;;   $scratch: 11 + `frames` f32x4: one quad's history and samples, one after the other.
;; $mode: 4 (4× oversampled true peak), 2 (2×: phases 0 and 2 only) or 1 (the samples' peak).
;; A clip is a (scaled) sample at or above $clipHigh or at or below $clipLow.
(module
  (memory (export "memory") 1)
  (func $pairs
    (param $coef i32) (param $state i32) (param $samples i32) (param $frames i32)
    (param $channels i32) (param $pairs i32) (param $scale f64)
    (local $p i32) (local $slot i32) (local $a i32) (local $ptr i32) (local $end i32) (local $stride i32)
    (local $sc v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $a1 v128) (local $a2 v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $g1 v128) (local $g2 v128)
    (local $z1 v128) (local $z2 v128) (local $z3 v128) (local $z4 v128)
    (local $x0 v128) (local $y1 v128) (local $y2 v128) (local $sum v128) (local $sq v128)
    (local.set $stride (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $slot (i32.shl (local.get $pairs) (i32.const 4)))
    (local.set $sc (f64x2.splat (local.get $scale)))
    (local.set $b0 (v128.load offset=0 (local.get $coef)))
    (local.set $b1 (v128.load offset=16 (local.get $coef)))
    (local.set $b2 (v128.load offset=32 (local.get $coef)))
    (local.set $a1 (v128.load offset=48 (local.get $coef)))
    (local.set $a2 (v128.load offset=64 (local.get $coef)))
    (local.set $h0 (v128.load offset=80 (local.get $coef)))
    (local.set $h1 (v128.load offset=96 (local.get $coef)))
    (local.set $h2 (v128.load offset=112 (local.get $coef)))
    (local.set $g1 (v128.load offset=128 (local.get $coef)))
    (local.set $g2 (v128.load offset=144 (local.get $coef)))
    (block $pairs_done
      (loop $pair
        (br_if $pairs_done (i32.ge_u (local.get $p) (local.get $pairs)))
        (local.set $a (i32.add (local.get $state) (i32.shl (local.get $p) (i32.const 4))))
        (local.set $z1 (v128.load (local.get $a)))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (local.set $z2 (v128.load (local.get $a)))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (local.set $z3 (v128.load (local.get $a)))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (local.set $z4 (v128.load (local.get $a)))
        (local.set $sum (v128.const i64x2 0 0))
        (local.set $sq (v128.const i64x2 0 0))
        (local.set $ptr (i32.add (local.get $samples) (i32.shl (local.get $p) (i32.const 3))))
        (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $frames) (local.get $stride))))
        (block $frames_done
          (loop $frame
            (br_if $frames_done (i32.ge_u (local.get $ptr) (local.get $end)))
            (local.set $x0
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $ptr))) (local.get $sc)))
            (local.set $y1 (f64x2.add (f64x2.mul (local.get $b0) (local.get $x0)) (local.get $z1)))
            (local.set $z1
              (f64x2.add
                (f64x2.sub (f64x2.mul (local.get $b1) (local.get $x0)) (f64x2.mul (local.get $a1) (local.get $y1)))
                (local.get $z2)))
            (local.set $z2
              (f64x2.sub (f64x2.mul (local.get $b2) (local.get $x0)) (f64x2.mul (local.get $a2) (local.get $y1))))
            (local.set $y2 (f64x2.add (f64x2.mul (local.get $h0) (local.get $y1)) (local.get $z3)))
            (local.set $z3
              (f64x2.add
                (f64x2.sub (f64x2.mul (local.get $h1) (local.get $y1)) (f64x2.mul (local.get $g1) (local.get $y2)))
                (local.get $z4)))
            (local.set $z4
              (f64x2.sub (f64x2.mul (local.get $h2) (local.get $y1)) (f64x2.mul (local.get $g2) (local.get $y2))))
            (local.set $sum (f64x2.add (local.get $sum) (f64x2.mul (local.get $y2) (local.get $y2))))
            (local.set $sq (f64x2.add (local.get $sq) (f64x2.mul (local.get $x0) (local.get $x0))))
            (local.set $ptr (i32.add (local.get $ptr) (local.get $stride)))
            (br $frame)))
        (local.set $a (i32.add (local.get $state) (i32.shl (local.get $p) (i32.const 4))))
        (v128.store (local.get $a) (local.get $z1))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (v128.store (local.get $a) (local.get $z2))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (v128.store (local.get $a) (local.get $z3))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (v128.store (local.get $a) (local.get $z4))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $sum)))
        (local.set $a (i32.add (local.get $a) (local.get $slot)))
        (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $sq)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pair))))

  (func $quads
    (param $coef i32) (param $state i32) (param $scratch i32) (param $samples i32) (param $frames i32)
    (param $channels i32) (param $quads i32) (param $scale f32) (param $mode i32)
    (param $clipHigh f32) (param $clipLow f32)
    (local $q i32) (local $slot i32) (local $a i32) (local $history i32) (local $ptr i32) (local $end i32)
    (local $out i32) (local $stride i32)
    (local $sc v128) (local $high v128) (local $low v128)
    (local $tp v128) (local $sp v128) (local $clips v128) (local $m v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $x4 v128)
    (local $x5 v128) (local $x6 v128) (local $x7 v128) (local $x8 v128) (local $x9 v128)
    (local $x10 v128) (local $x11 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128) (local $s5 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $d4 v128) (local $d5 v128)
    (local $sum03 v128) (local $diff03 v128) (local $sum12 v128) (local $diff12 v128)
    (local.set $stride (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $slot (i32.shl (local.get $quads) (i32.const 4)))
    (local.set $sc (f32x4.splat (local.get $scale)))
    (local.set $high (f32x4.splat (local.get $clipHigh)))
    (local.set $low (f32x4.splat (local.get $clipLow)))
    (block $quads_done
      (loop $quad
        (br_if $quads_done (i32.ge_u (local.get $q) (local.get $quads)))
        ;; This quad's history, then its samples scaled, one f32x4 a frame.
        (local.set $history
          (i32.add (i32.add (local.get $state) (i32.mul (local.get $slot) (i32.const 3)))
            (i32.mul (local.get $q) (i32.const 176))))
        (memory.copy (local.get $scratch) (local.get $history) (i32.const 176))
        (local.set $ptr (i32.add (local.get $samples) (i32.shl (local.get $q) (i32.const 4))))
        (local.set $out (i32.add (local.get $scratch) (i32.const 176)))
        (local.set $end (i32.add (local.get $out) (i32.shl (local.get $frames) (i32.const 4))))
        (block $copied
          (loop $copy
            (br_if $copied (i32.ge_u (local.get $out) (local.get $end)))
            (v128.store (local.get $out) (f32x4.mul (v128.load (local.get $ptr)) (local.get $sc)))
            (local.set $ptr (i32.add (local.get $ptr) (local.get $stride)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (br $copy)))
        (local.set $a (i32.add (local.get $state) (i32.shl (local.get $q) (i32.const 4))))
        (local.set $tp (v128.load (local.get $a)))
        (local.set $sp (v128.load (i32.add (local.get $a) (local.get $slot))))
        (local.set $clips (v128.load (i32.add (local.get $a) (i32.shl (local.get $slot) (i32.const 1)))))
        ;; $ptr: the oldest of the 12 samples the interpolator reads for the newest, x0 (at +176).
        (local.set $ptr (local.get $scratch))
        (local.set $end (i32.add (local.get $scratch) (i32.shl (local.get $frames) (i32.const 4))))
        (block $frames_done
          (loop $frame
            (br_if $frames_done (i32.ge_u (local.get $ptr) (local.get $end)))
            (local.set $x11 (v128.load offset=0 (local.get $ptr)))
            (local.set $x10 (v128.load offset=16 (local.get $ptr)))
            (local.set $x9 (v128.load offset=32 (local.get $ptr)))
            (local.set $x8 (v128.load offset=48 (local.get $ptr)))
            (local.set $x7 (v128.load offset=64 (local.get $ptr)))
            (local.set $x6 (v128.load offset=80 (local.get $ptr)))
            (local.set $x5 (v128.load offset=96 (local.get $ptr)))
            (local.set $x4 (v128.load offset=112 (local.get $ptr)))
            (local.set $x3 (v128.load offset=128 (local.get $ptr)))
            (local.set $x2 (v128.load offset=144 (local.get $ptr)))
            (local.set $x1 (v128.load offset=160 (local.get $ptr)))
            (local.set $x0 (v128.load offset=176 (local.get $ptr)))
            (local.set $m (f32x4.abs (local.get $x0)))
            (local.set $sp (f32x4.max (local.get $sp) (local.get $m)))
            (local.set $clips (i32x4.sub (local.get $clips) (f32x4.ge (local.get $x0) (local.get $high))))
            (local.set $clips (i32x4.sub (local.get $clips) (f32x4.le (local.get $x0) (local.get $low))))
            (if (i32.gt_u (local.get $mode) (i32.const 1))
              (then
                (local.set $s0 (f32x4.add (local.get $x0) (local.get $x11)))
                (local.set $d0 (f32x4.sub (local.get $x0) (local.get $x11)))
                (local.set $s1 (f32x4.add (local.get $x1) (local.get $x10)))
                (local.set $d1 (f32x4.sub (local.get $x1) (local.get $x10)))
                (local.set $s2 (f32x4.add (local.get $x2) (local.get $x9)))
                (local.set $d2 (f32x4.sub (local.get $x2) (local.get $x9)))
                (local.set $s3 (f32x4.add (local.get $x3) (local.get $x8)))
                (local.set $d3 (f32x4.sub (local.get $x3) (local.get $x8)))
                (local.set $s4 (f32x4.add (local.get $x4) (local.get $x7)))
                (local.set $d4 (f32x4.sub (local.get $x4) (local.get $x7)))
                (local.set $s5 (f32x4.add (local.get $x5) (local.get $x6)))
                (local.set $d5 (f32x4.sub (local.get $x5) (local.get $x6)))
                (local.set $sum03
                  (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.mul (v128.load offset=160 (local.get $coef)) (local.get $s0))
                    (f32x4.mul (v128.load offset=176 (local.get $coef)) (local.get $s1)))
                    (f32x4.mul (v128.load offset=192 (local.get $coef)) (local.get $s2)))
                    (f32x4.mul (v128.load offset=208 (local.get $coef)) (local.get $s3)))
                    (f32x4.mul (v128.load offset=224 (local.get $coef)) (local.get $s4)))
                    (f32x4.mul (v128.load offset=240 (local.get $coef)) (local.get $s5))))
                (local.set $diff03
                  (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.mul (v128.load offset=256 (local.get $coef)) (local.get $d0))
                    (f32x4.mul (v128.load offset=272 (local.get $coef)) (local.get $d1)))
                    (f32x4.mul (v128.load offset=288 (local.get $coef)) (local.get $d2)))
                    (f32x4.mul (v128.load offset=304 (local.get $coef)) (local.get $d3)))
                    (f32x4.mul (v128.load offset=320 (local.get $coef)) (local.get $d4)))
                    (f32x4.mul (v128.load offset=336 (local.get $coef)) (local.get $d5))))
                (local.set $sum12
                  (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.mul (v128.load offset=352 (local.get $coef)) (local.get $s0))
                    (f32x4.mul (v128.load offset=368 (local.get $coef)) (local.get $s1)))
                    (f32x4.mul (v128.load offset=384 (local.get $coef)) (local.get $s2)))
                    (f32x4.mul (v128.load offset=400 (local.get $coef)) (local.get $s3)))
                    (f32x4.mul (v128.load offset=416 (local.get $coef)) (local.get $s4)))
                    (f32x4.mul (v128.load offset=432 (local.get $coef)) (local.get $s5))))
                (local.set $diff12
                  (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.mul (v128.load offset=448 (local.get $coef)) (local.get $d0))
                    (f32x4.mul (v128.load offset=464 (local.get $coef)) (local.get $d1)))
                    (f32x4.mul (v128.load offset=480 (local.get $coef)) (local.get $d2)))
                    (f32x4.mul (v128.load offset=496 (local.get $coef)) (local.get $d3)))
                    (f32x4.mul (v128.load offset=512 (local.get $coef)) (local.get $d4)))
                    (f32x4.mul (v128.load offset=528 (local.get $coef)) (local.get $d5))))
                ;; 4×: max(|p0|, |p3|) = |p0 + p3| / 2 + |p0 - p3| / 2 (the halves are in the
                ;; coefficients), and the same of p1 and p2; 2×: |p0| and |p2| only.
                (if (i32.eq (local.get $mode) (i32.const 4))
                  (then
                    (local.set $m (f32x4.max (local.get $m)
                      (f32x4.add (f32x4.abs (local.get $sum03)) (f32x4.abs (local.get $diff03)))))
                    (local.set $m (f32x4.max (local.get $m)
                      (f32x4.add (f32x4.abs (local.get $sum12)) (f32x4.abs (local.get $diff12))))))
                  (else
                    (local.set $m (f32x4.max (local.get $m)
                      (f32x4.abs (f32x4.add (local.get $sum03) (local.get $diff03)))))
                    (local.set $m (f32x4.max (local.get $m)
                      (f32x4.abs (f32x4.sub (local.get $sum12) (local.get $diff12)))))))))
            (local.set $tp (f32x4.max (local.get $tp) (local.get $m)))
            (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
            (br $frame)))
        (v128.store (local.get $a) (local.get $tp))
        (v128.store (i32.add (local.get $a) (local.get $slot)) (local.get $sp))
        (v128.store (i32.add (local.get $a) (i32.shl (local.get $slot) (i32.const 1))) (local.get $clips))
        ;; The last 11 samples are the next call's history.
        (memory.copy (local.get $history) (local.get $end) (i32.const 176))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $quad))))

  (func (export "run")
    (param $coef i32) (param $pairState i32) (param $quadState i32) (param $samples i32)
    (param $scratch i32) (param $frames i32) (param $channels i32) (param $scale f64)
    (param $mode i32) (param $clipHigh f32) (param $clipLow f32)
    (call $pairs (local.get $coef) (local.get $pairState) (local.get $samples) (local.get $frames)
      (local.get $channels) (i32.shr_u (i32.add (local.get $channels) (i32.const 1)) (i32.const 1))
      (local.get $scale))
    (call $quads (local.get $coef) (local.get $quadState) (local.get $scratch) (local.get $samples)
      (local.get $frames) (local.get $channels)
      (i32.shr_u (i32.add (local.get $channels) (i32.const 3)) (i32.const 2))
      (f32.demote_f64 (local.get $scale)) (local.get $mode) (local.get $clipHigh) (local.get $clipLow))))
