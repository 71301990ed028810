//! A layered layout, left to right (Sugiyama's scheme, kept small):
//!
//! 1. layers: each node's longest path from a node without predecessors (inputs, sources); edges that would point
//!    backwards (a cycle, possible in a notebook session) are laid out reversed;
//! 2. between each two layers of nodes, a column of edge labels: an edge's label is an item in the column just
//!    before its target, and an edge spanning several layers gets a zero-size dummy item in every column it
//!    crosses, so that it is routed between the boxes and the labels, never through them;
//! 3. the order within a column: barycenter sweeps down and up, keeping the order with the fewest crossings
//!    (counted as inversions);
//! 4. vertical positions: each item pulled towards the mean of its neighbours, the column's order and spacing kept
//!    by an isotonic regression (pool adjacent violators) — the smallest movement that keeps items apart;
//! 5. columns as wide as their widest box or label, with a strip for the curves between each two.
//!
//! Boxes and labels never overlap: each column's items are spaced apart within it, and columns do not overlap.
//! Nothing recurses; the work is about linear in nodes plus dummy items per sweep.

/// A box in the picture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }
}

/// An edge to lay out: from, to (indices of nodes), and the size of its label, if any.
pub type EdgeInput = (usize, usize, Option<(f64, f64)>);

/// What the layout is asked to place.
#[derive(Clone, Debug)]
pub struct LayoutInput {
    /// Width and height of each node's box.
    pub nodes: Vec<(f64, f64)>,
    pub edges: Vec<EdgeInput>,
}

/// An edge's route: points from its source's box to its target's box; consecutive points are joined by curves
/// across gaps and straight lines through columns and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub points: Vec<(f64, f64)>,
    pub label: Option<Rect>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<Rect>,
    /// In the order of the input's edges; `None` for a node's edge to itself (not drawn).
    pub edges: Vec<Option<Route>>,
}

const MARGIN: f64 = 16.0;
const NODE_GAP: f64 = 22.0;
/// Between an edge passing through a column (or a label) and what is beside it.
const DUMMY_GAP: f64 = 12.0;
/// Horizontal room for the curves between two columns.
const CURVE: f64 = 30.0;
/// The width of a column of labels that holds none.
const MIN_LABEL_COLUMN: f64 = 4.0;
const SWEEPS: usize = 12;

/// One node of the layered graph: a real node, or a dummy on a long edge.
struct Item {
    layer: usize,
    h: f64,
    w: f64,
    real: bool,
    preds: Vec<usize>,
    succs: Vec<usize>,
}

pub fn layout(input: &LayoutInput) -> Layout {
    let n = input.nodes.len();
    let (rank, reversed) = layers(n, &input.edges);
    let mut items: Vec<Item> = input
        .nodes
        .iter()
        .zip(&rank)
        .map(|(&(w, h), &r)| Item {
            layer: 2 * r,
            h,
            w,
            real: true,
            preds: Vec::new(),
            succs: Vec::new(),
        })
        .collect();
    // Each edge's chain of items in layout direction, and whether it was reversed. The item in the column just
    // before the target is its label (or a dummy, without one).
    let mut chains: Vec<Option<(Vec<usize>, bool)>> = Vec::with_capacity(input.edges.len());
    let mut label_item: Vec<Option<usize>> = vec![None; input.edges.len()];
    for (e, (&(from, to, label), &reversed)) in input.edges.iter().zip(&reversed).enumerate() {
        if from == to || from >= n || to >= n {
            chains.push(None);
            continue;
        }
        let (a, b) = if reversed { (to, from) } else { (from, to) };
        let mut chain = vec![a];
        let last = items[b].layer - 1;
        for l in items[a].layer + 1..=last {
            let (w, h) = match label {
                Some(size) if l == last => size,
                _ => (0.0, 0.0),
            };
            items.push(Item {
                layer: l,
                h,
                w,
                real: false,
                preds: Vec::new(),
                succs: Vec::new(),
            });
            chain.push(items.len() - 1);
        }
        if label.is_some() {
            label_item[e] = chain.last().copied();
        }
        chain.push(b);
        for pair in chain.windows(2) {
            items[pair[0]].succs.push(pair[1]);
            items[pair[1]].preds.push(pair[0]);
        }
        chains.push(Some((chain, reversed)));
    }
    let layer_count = items.iter().map(|i| i.layer + 1).max().unwrap_or(0);
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for (i, item) in items.iter().enumerate() {
        order[item.layer].push(i);
    }
    let order = arrange(&items, order);
    let mut center = place_vertically(&items, &order);
    straighten(&items, &order, &chains, &mut center);

    // Columns: as wide as their widest box or label, a strip for the curves between each two.
    let mut col_w = vec![0.0f64; layer_count];
    for item in &items {
        col_w[item.layer] = col_w[item.layer].max(item.w);
    }
    for (l, w) in col_w.iter_mut().enumerate() {
        if l % 2 == 1 {
            *w = w.max(MIN_LABEL_COLUMN);
        }
    }
    let mut col_x = vec![MARGIN; layer_count];
    for l in 1..layer_count {
        col_x[l] = col_x[l - 1] + col_w[l - 1] + CURVE;
    }
    let rect_of = |i: usize| {
        let it = &items[i];
        Rect {
            x: col_x[it.layer] + (col_w[it.layer] - it.w) / 2.0,
            y: center[i] - it.h / 2.0,
            w: it.w,
            h: it.h,
        }
    };
    let nodes: Vec<Rect> = (0..n).map(rect_of).collect();
    let labels: Vec<Option<Rect>> = label_item.iter().map(|i| i.map(rect_of)).collect();

    // Ports: a node's edges leave (and enter) it spread over its height, in the order of where they go.
    let mut out_port: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n]; // (edge, next item)
    let mut in_port: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n]; // (edge, previous item)
    for (e, chain) in chains.iter().enumerate() {
        if let Some((chain, _)) = chain {
            out_port[chain[0]].push((e, chain[1]));
            in_port[chain[chain.len() - 1]].push((e, chain[chain.len() - 2]));
        }
    }
    let mut start_y = vec![0.0; input.edges.len()];
    let mut end_y = vec![0.0; input.edges.len()];
    for i in 0..n {
        for (ports, ys) in [
            (&mut out_port[i], &mut start_y),
            (&mut in_port[i], &mut end_y),
        ] {
            ports.sort_by(|a, b| center[a.1].total_cmp(&center[b.1]).then(a.0.cmp(&b.0)));
            let k = ports.len() as f64;
            let spread = (nodes[i].h - 12.0).max(0.0);
            for (j, &(e, _)) in ports.iter().enumerate() {
                ys[e] = nodes[i].y + 6.0 + spread * (j as f64 + 1.0) / (k + 1.0);
            }
        }
    }

    let mut edges: Vec<Option<Route>> = Vec::with_capacity(chains.len());
    for (e, chain) in chains.iter().enumerate() {
        let Some((chain, reversed)) = chain else {
            edges.push(None);
            continue;
        };
        let (a, b) = (chain[0], chain[chain.len() - 1]);
        let mut points = vec![(nodes[a].x + nodes[a].w, start_y[e])];
        for &d in &chain[1..chain.len() - 1] {
            let l = items[d].layer;
            points.push((col_x[l], center[d]));
            points.push((col_x[l] + col_w[l], center[d]));
        }
        points.push((nodes[b].x, end_y[e]));
        if *reversed {
            points.reverse();
        }
        edges.push(Some(Route {
            points,
            label: labels[e],
        }));
    }

    // Everything moved so that the top-most thing is at the margin.
    let mut top = f64::INFINITY;
    let mut bottom = f64::NEG_INFINITY;
    let mut right = MARGIN;
    for r in nodes.iter().chain(labels.iter().flatten()) {
        top = top.min(r.y);
        bottom = bottom.max(r.y + r.h);
        right = right.max(r.x + r.w);
    }
    for route in edges.iter().flatten() {
        for p in &route.points {
            top = top.min(p.1);
            bottom = bottom.max(p.1);
        }
    }
    if !top.is_finite() {
        top = MARGIN;
        bottom = MARGIN;
    }
    let dy = MARGIN - top;
    let mut nodes = nodes;
    for r in nodes.iter_mut() {
        r.y += dy;
    }
    for route in edges.iter_mut().flatten() {
        for p in route.points.iter_mut() {
            p.1 += dy;
        }
        if let Some(l) = route.label.as_mut() {
            l.y += dy;
        }
    }
    Layout {
        width: right + MARGIN,
        height: bottom - top + 2.0 * MARGIN,
        nodes,
        edges,
    }
}

/// Each node's layer: its longest path from a node without predecessors, and which edges point backwards. Nodes are
/// first put in Kahn's order (a node left in a cycle is taken in index order); an edge against that order is
/// reversed for the layout, so every edge goes at least one layer forward.
fn layers(n: usize, edges: &[EdgeInput]) -> (Vec<usize>, Vec<bool>) {
    let valid = |from: usize, to: usize| from != to && from < n && to < n;
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(from, to, _) in edges {
        if valid(from, to) {
            succs[from].push(to);
            indegree[to] += 1;
        }
    }
    let mut rank = vec![usize::MAX; n];
    let mut queue: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut first_unranked = 0;
    let mut next = 0;
    while next < n {
        let v = match queue.pop_front() {
            Some(v) => v,
            None => {
                // Everything left waits on a cycle: take the first node not ranked yet.
                while rank[first_unranked] != usize::MAX {
                    first_unranked += 1;
                }
                first_unranked
            }
        };
        if rank[v] != usize::MAX {
            continue;
        }
        rank[v] = next;
        next += 1;
        for &w in &succs[v] {
            indegree[w] = indegree[w].saturating_sub(1);
            if indegree[w] == 0 && rank[w] == usize::MAX {
                queue.push_back(w);
            }
        }
    }
    let reversed: Vec<bool> = edges
        .iter()
        .map(|&(from, to, _)| valid(from, to) && rank[to] < rank[from])
        .collect();
    // Longest paths, in rank order.
    let mut by_rank = vec![0usize; n];
    for (v, &r) in rank.iter().enumerate() {
        by_rank[r] = v;
    }
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (&(from, to, _), &rev) in edges.iter().zip(&reversed) {
        if valid(from, to) {
            let (a, b) = if rev { (to, from) } else { (from, to) };
            forward[a].push(b);
        }
    }
    let mut layer = vec![0usize; n];
    for &v in &by_rank {
        for &w in &forward[v] {
            layer[w] = layer[w].max(layer[v] + 1);
        }
    }
    (layer, reversed)
}

/// The order within each layer: barycenter sweeps, keeping the best order seen.
fn arrange(items: &[Item], mut order: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let mut pos = vec![0.0f64; items.len()];
    let set_pos = |order: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for layer in order {
            for (p, &i) in layer.iter().enumerate() {
                pos[i] = p as f64;
            }
        }
    };
    set_pos(&order, &mut pos);
    let mut best = order.clone();
    let mut best_crossings = crossings(items, &order, &pos);
    for sweep in 0..SWEEPS {
        let down = sweep % 2 == 0;
        let layers: Vec<usize> = if down {
            (1..order.len()).collect()
        } else {
            (0..order.len().saturating_sub(1)).rev().collect()
        };
        for l in layers {
            let mut keyed: Vec<(f64, usize)> = order[l]
                .iter()
                .map(|&i| {
                    let neighbours = if down {
                        &items[i].preds
                    } else {
                        &items[i].succs
                    };
                    let key = if neighbours.is_empty() {
                        pos[i]
                    } else {
                        neighbours.iter().map(|&j| pos[j]).sum::<f64>() / neighbours.len() as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            order[l] = keyed.into_iter().map(|(_, i)| i).collect();
            for (p, &i) in order[l].iter().enumerate() {
                pos[i] = p as f64;
            }
        }
        let c = crossings(items, &order, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = order.clone();
        }
        if best_crossings == 0 {
            break;
        }
    }
    best
}

/// How many pairs of segments cross between adjacent layers: the inversions of the targets' positions when the
/// segments are sorted by their sources' positions (counted with a merge sort).
fn crossings(items: &[Item], order: &[Vec<usize>], pos: &[f64]) -> usize {
    let mut total = 0;
    for layer in order {
        let mut segments: Vec<(usize, usize)> = Vec::new();
        for &i in layer {
            for &j in &items[i].succs {
                segments.push((pos[i] as usize, pos[j] as usize));
            }
        }
        segments.sort_unstable();
        let mut targets: Vec<usize> = segments.into_iter().map(|s| s.1).collect();
        total += inversions(&mut targets);
    }
    total
}

fn inversions(v: &mut [usize]) -> usize {
    let mut count = 0;
    let mut width = 1;
    let mut buffer = v.to_vec();
    while width < v.len() {
        let mut start = 0;
        while start < v.len() {
            let mid = (start + width).min(v.len());
            let end = (start + 2 * width).min(v.len());
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                if v[i] <= v[j] {
                    buffer[k] = v[i];
                    i += 1;
                } else {
                    buffer[k] = v[j];
                    count += mid - i;
                    j += 1;
                }
                k += 1;
            }
            buffer[k..k + mid - i].copy_from_slice(&v[i..mid]);
            k += mid - i;
            buffer[k..k + end - j].copy_from_slice(&v[j..end]);
            start = end;
        }
        v.copy_from_slice(&buffer);
        width *= 2;
    }
    count
}

/// Each item's vertical center: pulled towards its neighbours' mean in alternating sweeps, spaced within its layer.
fn place_vertically(items: &[Item], order: &[Vec<usize>]) -> Vec<f64> {
    let mut center = vec![0.0f64; items.len()];
    let gaps = |layer: &[usize]| -> Vec<f64> {
        layer
            .windows(2)
            .map(|p| {
                if items[p[0]].real && items[p[1]].real {
                    NODE_GAP
                } else {
                    DUMMY_GAP
                }
            })
            .chain(std::iter::once(0.0))
            .collect()
    };
    // Start: each layer stacked from 0, then centred on the tallest layer's middle.
    let mut heights = Vec::with_capacity(order.len());
    for layer in order {
        let g = gaps(layer);
        let mut y = 0.0;
        for (k, &i) in layer.iter().enumerate() {
            center[i] = y + items[i].h / 2.0;
            y += items[i].h + g[k];
        }
        heights.push(y);
    }
    let tallest = heights.iter().copied().fold(0.0, f64::max);
    for (layer, h) in order.iter().zip(&heights) {
        for &i in layer {
            center[i] += (tallest - h) / 2.0;
        }
    }
    for sweep in 0..2 * SWEEPS {
        let down = sweep % 2 == 0;
        let layers: Vec<usize> = if down {
            (0..order.len()).collect()
        } else {
            (0..order.len()).rev().collect()
        };
        for l in layers {
            let layer = &order[l];
            let desired: Vec<f64> = layer
                .iter()
                .map(|&i| {
                    let it = &items[i];
                    let neighbours: Vec<usize> = if down {
                        it.preds.clone()
                    } else {
                        it.succs.clone()
                    };
                    // Dummies follow both sides, so that long edges straighten.
                    let neighbours = if neighbours.is_empty() || !it.real {
                        it.preds.iter().chain(&it.succs).copied().collect()
                    } else {
                        neighbours
                    };
                    // Links between dummies weigh most (Gansner et al.): long edges run straight.
                    let link = |j: usize| match (it.real, items[j].real) {
                        (true, true) => 1.0,
                        (false, false) => 8.0,
                        _ => 2.0,
                    };
                    let total: f64 = neighbours.iter().map(|&j| link(j)).sum();
                    if neighbours.is_empty() {
                        center[i]
                    } else {
                        neighbours.iter().map(|&j| link(j) * center[j]).sum::<f64>() / total
                    }
                })
                .collect();
            let sizes: Vec<f64> = layer.iter().map(|&i| items[i].h).collect();
            let weights: Vec<f64> = layer
                .iter()
                .map(|&i| if items[i].real { 1.0 } else { 4.0 })
                .collect();
            let placed = spread(&desired, &sizes, &gaps(layer), &weights);
            for (&i, y) in layer.iter().zip(placed) {
                center[i] = y;
            }
        }
    }
    center
}

/// Long edges drawn level where they can be: the dummies of each chain (its label apart) moved to one height, the
/// one nearest the middle of the edge's ends that keeps each apart from what is above and below it — or, where no
/// one height fits them all, run by run.
fn straighten(
    items: &[Item],
    order: &[Vec<usize>],
    chains: &[Option<(Vec<usize>, bool)>],
    center: &mut [f64],
) {
    let mut pos = vec![0usize; items.len()];
    for layer in order {
        for (p, &i) in layer.iter().enumerate() {
            pos[i] = p;
        }
    }
    let gap = |a: usize, b: usize| {
        if items[a].real && items[b].real {
            NODE_GAP
        } else {
            DUMMY_GAP
        }
    };
    for (chain, _) in chains.iter().flatten() {
        let dummies: Vec<usize> = chain[1..chain.len() - 1]
            .iter()
            .copied()
            .filter(|&d| items[d].h == 0.0)
            .collect();
        if dummies.len() < 2 {
            continue;
        }
        // The heights each dummy can take without moving anything else; consecutive dummies whose intervals meet
        // make a run drawn level, so a long edge bends only where something is in its way.
        let interval = |d: usize| {
            let layer = &order[items[d].layer];
            let p = pos[d];
            let lo = p
                .checked_sub(1)
                .and_then(|q| layer.get(q))
                .map_or(f64::NEG_INFINITY, |&a| {
                    center[a] + items[a].h / 2.0 + gap(a, d)
                });
            let hi = layer
                .get(p + 1)
                .map_or(f64::INFINITY, |&b| center[b] - items[b].h / 2.0 - gap(d, b));
            (lo, hi)
        };
        // As close as it can be to the middle of the edge's ends.
        let ends = (center[chain[0]] + center[chain[chain.len() - 1]]) / 2.0;
        let intervals: Vec<(f64, f64)> = dummies.iter().map(|&d| interval(d)).collect();
        let mut start = 0;
        let (mut lo, mut hi) = intervals[0];
        for k in 1..=dummies.len() {
            let next = intervals.get(k).copied();
            match next {
                Some((l, h)) if lo.max(l) <= hi.min(h) => {
                    lo = lo.max(l);
                    hi = hi.min(h);
                }
                _ => {
                    if k - start >= 2 {
                        let y = ends.clamp(lo, hi);
                        for &d in &dummies[start..k] {
                            center[d] = y;
                        }
                    }
                    if let Some((l, h)) = next {
                        (start, lo, hi) = (k, l, h);
                    }
                }
            }
        }
    }
}

/// Centers as close as possible (weighted least squares) to `desired`, in the given order, each `sizes[k]/2 + gaps[k] +
/// sizes[k+1]/2` below the one before: pool adjacent violators on the desired values minus the offsets.
fn spread(desired: &[f64], sizes: &[f64], gaps: &[f64], weights: &[f64]) -> Vec<f64> {
    let mut offset = Vec::with_capacity(desired.len());
    let mut acc = 0.0;
    for k in 0..desired.len() {
        if k > 0 {
            acc += sizes[k - 1] / 2.0 + gaps[k - 1] + sizes[k] / 2.0;
        }
        offset.push(acc);
    }
    // Blocks of (weighted sum, weight, count), each block's mean non-decreasing.
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for k in 0..desired.len() {
        blocks.push((weights[k] * (desired[k] - offset[k]), weights[k], 1));
        while blocks.len() > 1 {
            let (s2, w2, c2) = blocks[blocks.len() - 1];
            let (s1, w1, c1) = blocks[blocks.len() - 2];
            if s1 / w1 > s2 / w2 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, w1 + w2, c1 + c2);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (sum, weight, count) in blocks {
        let mean = sum / weight;
        for _ in 0..count {
            out.push(mean + offset[out.len()]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_order_and_distance_and_moves_little() {
        let placed = spread(
            &[10.0, 10.0, 50.0],
            &[20.0, 20.0, 20.0],
            &[5.0, 5.0, 0.0],
            &[1.0; 3],
        );
        assert_eq!(placed, vec![-2.5, 22.5, 50.0]);
    }

    #[test]
    fn inversions_are_counted() {
        assert_eq!(inversions(&mut [2, 0, 1]), 2);
        assert_eq!(inversions(&mut [0, 1, 2]), 0);
        assert_eq!(inversions(&mut [3, 2, 1, 0]), 6);
    }

    #[test]
    fn layers_follow_the_longest_path_and_survive_cycles() {
        let e = |a, b| (a, b, None);
        let (layer, reversed) = layers(4, &[e(0, 1), e(1, 2), e(0, 2), e(3, 2)]);
        assert_eq!(layer, vec![0, 1, 2, 0]);
        assert_eq!(reversed, vec![false; 4]);
        let (layer, reversed) = layers(3, &[e(0, 1), e(1, 2), e(2, 1)]);
        assert_eq!(layer, vec![0, 1, 2]);
        assert_eq!(reversed, vec![false, false, true]);
    }

    /// Random graphs (cycles, self loops, parallel edges, wide labels): no two boxes, no two labels, no box and
    /// label overlap.
    #[test]
    fn random_graphs_keep_boxes_and_labels_apart() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let n = 1 + next(14) as usize;
            let nodes: Vec<(f64, f64)> = (0..n)
                .map(|_| (60.0 + next(200) as f64, 30.0 + next(40) as f64))
                .collect();
            let edges: Vec<EdgeInput> = (0..next(3 * n as u64 + 1))
                .map(|_| {
                    let label =
                        (next(3) > 0).then(|| (20.0 + next(150) as f64, 14.0 + next(30) as f64));
                    (next(n as u64) as usize, next(n as u64) as usize, label)
                })
                .collect();
            let laid = layout(&LayoutInput {
                nodes,
                edges: edges.clone(),
            });
            let mut boxes: Vec<Rect> = laid.nodes.clone();
            boxes.extend(laid.edges.iter().flatten().filter_map(|r| r.label));
            for (i, a) in boxes.iter().enumerate() {
                for b in &boxes[i + 1..] {
                    assert!(!a.overlaps(b), "{a:?} and {b:?} in {edges:?}");
                }
                assert!(
                    a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= laid.width && a.y + a.h <= laid.height
                );
            }
        }
    }
}
