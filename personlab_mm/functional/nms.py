"""Instance-level non-maximum suppression on keypoints (OKS).

MMPose's ``oks_nms`` (``mmpose.evaluation.functional``) scales OKS by the
mean of both instances' box areas and works on numpy lists; the decoders
here scale by the higher-ranked instance's own scale (PersonLab appendix
A.2) and stay on the device, so these two functions are kept.
"""
import torch
from torch import Tensor


def oks_matrix(keypoints: Tensor, scales: Tensor, kappas: Tensor) -> Tensor:
    """OKS of every instance against every other, with the scale of the
    first: ``oks[a, b] = mean_k exp(-d_k^2 / (2 lambda_a^2 kappa_k^2))``.

    Args:
        keypoints (Tensor): (J, K, 2).
        scales (Tensor): (J,) lambda.
        kappas (Tensor): (K,) per-keypoint falloff (COCO: ``2 * sigma``).

    Returns:
        Tensor: (J, J).
    """
    d2 = ((keypoints[:, None] - keypoints[None, :])**2).sum(-1)  # (J,J,K)
    var = 2. * (scales[:, None, None] * kappas[None, None, :])**2
    return torch.exp(-d2 / var).mean(-1)


def oks_hard_nms(keypoints: Tensor, instance_scores: Tensor, scales: Tensor,
                 kappas: Tensor, threshold: float = 0.5) -> Tensor:
    """Greedy OKS hard NMS: an instance is dropped when its OKS with a
    kept, higher-scoring one exceeds ``threshold``.

    Args:
        keypoints (Tensor): (J, K, 2).
        instance_scores (Tensor): (J,).
        scales (Tensor): (J,) lambda.
        kappas (Tensor): (K,).
        threshold (float): Defaults to 0.5.

    Returns:
        Tensor: (J',) long indices of the kept instances, by descending
        score.
    """
    J = keypoints.shape[0]
    if J == 0:
        return torch.zeros(0, dtype=torch.long, device=keypoints.device)
    order = instance_scores.argsort(descending=True)
    oks = oks_matrix(keypoints[order], scales[order], kappas)
    suppress = (oks > threshold).cpu().numpy()
    keep, alive = [], [True] * J
    for a in range(J):
        if not alive[a]:
            continue
        keep.append(a)
        for b in range(a + 1, J):
            if suppress[a, b]:
                alive[b] = False
    return order[torch.as_tensor(keep, dtype=torch.long,
                                 device=keypoints.device)]
