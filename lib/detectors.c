/*
 * detectors.c - the registry of detectors, in run order. Loop detectors
 * run before stalled_conversation (which reads their looped-turn marks);
 * refusal detectors read the per-turn classification the session makes.
 */
#include "internal.h"

/* refusal detectors (detect_refusal*.c) */
extern const lci_detector_vt lci_detect_refusal;
extern const lci_detector_vt lci_detect_refusal_loop;
extern const lci_detector_vt lci_detect_refusal_onset;

const lci_detector_vt *const lci_detectors[] = {
    /* loop detectors (detect_*.c); stalled_conversation stays last */
    &lci_detect_exact,
    &lci_detect_recurring,
    &lci_detect_recycled,
    &lci_detect_neardup,
    &lci_detect_degenerate,
    &lci_detect_refusal,
    &lci_detect_refusal_loop,
    &lci_detect_refusal_onset,
    &lci_detect_stalled,
    NULL,
};
