"""Stage pacs: the hospital's PACS over DICOMweb — chest films in (QIDO-RS, WADO-RS), results out (STOW-RS).

:class:`Pacs` is the client (dicomweb-client underneath); :func:`parse_query` reads a ``--query`` such as
``Modality=CR\\DX``; :func:`pull` copies a PACS's chest films into a folder ``ingest`` reads (resumable);
:func:`result_objects` builds the Secondary Capture and the measurement-report SR of one film with
highdicom, and :func:`verdict_report` the radiologist's SR that references the model's and replaces the
reader's previous one (:class:`PriorReport`, :func:`verdict_series_uid`).
:class:`DicomListener` takes films the PACS pushes over DICOM (C-STORE); :class:`Poller` finds the films
that reached the PACS since the last poll (Orthanc's change feed, or a StudyDate window). The reading room
(``serve --pacs``) uses these public names; this stage knows nothing of its database. The public names
load on first use.
"""

from __future__ import annotations

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_QUERY": "query",
    "InstanceRef": "query",
    "parse_query": "query",
    "Pacs": "client",
    "PacsError": "client",
    "PacsRefused": "client",
    "read_auth": "client",
    "PullConfig": "pull_config",
    "PullSummary": "archive_pull",
    "pull": "archive_pull",
    "ResultObjects": "results",
    "result_objects": "results",
    "model_report": "results",
    "result_uid": "results",
    "verdict_report": "results",
    "PriorReport": "results",
    "verdict_series_uid": "results",
    "SC_SYNTAXES": "results",
    "DEFAULT_SC_SYNTAX": "results",
    "DicomListener": "listener",
    "ListenerConfig": "listener",
    "Decision": "listener",
    "Outcome": "listener",
    "Poller": "polling",
    "PollConfig": "polling",
    "PollState": "polling",
    "PollResult": "polling",
    "Polled": "polling",
    "changed_in_pacs": "polling",
    "LocalOrthanc": "orthanc",
    "orthanc_config": "orthanc",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
