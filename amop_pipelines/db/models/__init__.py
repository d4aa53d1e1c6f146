"""All AMOP tables. Importing this package registers every model on `Base.metadata`."""

from amop_pipelines.db.base import Base
from amop_pipelines.db.models.audit import AuditLog, Notification
from amop_pipelines.db.models.changes import (
    BillingService,
    CarrierCallback,
    ChangeApproval,
    ChangeItem,
    ChangeRequest,
)
from amop_pipelines.db.models.customers import (
    Customer,
    CustomerRatePlan,
    CustomerRatePool,
    Site,
)
from amop_pipelines.db.models.devices import (
    Device,
    DeviceStaging,
    DeviceUsage,
    UsageStaging,
)
from amop_pipelines.db.models.optimization import (
    OptimizationCommGroup,
    OptimizationCommGroupCommPlan,
    OptimizationCommGroupRatePlan,
    OptimizationCustomerProcessing,
    OptimizationDeviceResult,
    OptimizationInstance,
    OptimizationMobilityDeviceResult,
    OptimizationQueue,
    OptimizationQueueRatePlan,
    OptimizationResultFile,
    OptimizationSession,
    OptimizationSharedPoolResult,
    RealizedSavings,
    RealizedSavingsDevice,
)
from amop_pipelines.db.models.plans import (
    CarrierRatePlan,
    CommunicationPlan,
    CommunicationPlanRatePlan,
    OptimizationGroup,
)
from amop_pipelines.db.models.providers import BillingPeriod, ServiceProvider
from amop_pipelines.db.models.sync_progress import SyncProgress
from amop_pipelines.db.models.users import AmopUser

__all__ = [
    "AmopUser",
    "AuditLog",
    "Base",
    "BillingPeriod",
    "BillingService",
    "CarrierCallback",
    "CarrierRatePlan",
    "ChangeApproval",
    "ChangeItem",
    "ChangeRequest",
    "CommunicationPlan",
    "CommunicationPlanRatePlan",
    "Customer",
    "CustomerRatePlan",
    "CustomerRatePool",
    "Device",
    "DeviceStaging",
    "DeviceUsage",
    "Notification",
    "OptimizationCommGroup",
    "OptimizationCommGroupCommPlan",
    "OptimizationCommGroupRatePlan",
    "OptimizationCustomerProcessing",
    "OptimizationDeviceResult",
    "OptimizationGroup",
    "OptimizationInstance",
    "OptimizationMobilityDeviceResult",
    "OptimizationQueue",
    "OptimizationQueueRatePlan",
    "OptimizationResultFile",
    "OptimizationSession",
    "OptimizationSharedPoolResult",
    "RealizedSavings",
    "RealizedSavingsDevice",
    "ServiceProvider",
    "Site",
    "SyncProgress",
    "UsageStaging",
]
