-- CreateTable
CREATE TABLE "CommandRun" (
    "deliveryId" TEXT NOT NULL,
    "reply" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "repliedAt" TIMESTAMP(3),

    CONSTRAINT "CommandRun_pkey" PRIMARY KEY ("deliveryId")
);
