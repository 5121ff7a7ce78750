/**
 * The channels' formats, checked against independent computations: the Standard Webhooks
 * signature (node:crypto, as a receiver in any language computes it), DingTalk's signed URL (its
 * documented algorithm), and WeCom's and DingTalk's documented markdown message shapes.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { endpointUrlRefusal, maskUrl, retryDelayMs } from "../../contracts/notification-delivery.js";
import { NOTIFICATION_TYPES } from "../../contracts/notifications.js";
import { buildRequest, renderMessage } from "../../src/services/notifications/formats.js";
import {
  dingtalkSignedUrl,
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
} from "../../src/services/notifications/signing.js";

const NOW = new Date("2025-03-01T02:00:00Z");
const HALT = {
  incidentId: "5c8e1e0a-0000-4000-8000-000000000001",
  facilityId: "5c8e1e0a-0000-4000-8000-000000000002",
  facilityName: "3号楼电梯",
  communityName: "国伟新苑",
  openedAt: "2025-03-01T01:58:00Z",
};

describe("the webhook signature (Standard Webhooks)", () => {
  it("is HMAC-SHA256 of id.timestamp.body keyed by the secret's base64 bytes, and verifies", async () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ id: "msg_1", type: "ebike_halt_opened", data: HALT });
    const headers = await signWebhook(secret, "msg_1", 1740794400, body);
    const independent = createHmac("sha256", Buffer.from(secret.slice(6), "base64"))
      .update(`msg_1.1740794400.${body}`)
      .digest("base64");
    expect(headers).toEqual({
      "webhook-id": "msg_1",
      "webhook-timestamp": "1740794400",
      "webhook-signature": `v1,${independent}`,
    });
    const at = new Date(1740794400 * 1000 + 60_000);
    expect(await verifyWebhook(secret, headers, body, { now: at })).toEqual({
      ok: true,
      id: "msg_1",
      timestampS: 1740794400,
    });
  });

  it("refuses a tampered body, another secret, an old or future timestamp, missing headers", async () => {
    const secret = generateWebhookSecret();
    const body = '{"id":"msg_2"}';
    const headers = await signWebhook(secret, "msg_2", 1740794400, body);
    const at = new Date(1740794400 * 1000);
    expect(await verifyWebhook(secret, headers, '{"id":"msg_3"}', { now: at })).toMatchObject({
      reason: "bad_signature",
    });
    expect(await verifyWebhook(generateWebhookSecret(), headers, body, { now: at })).toMatchObject({
      reason: "bad_signature",
    });
    // Replayed six minutes later: outside the 300 s window, even though the signature is right.
    expect(
      await verifyWebhook(secret, headers, body, { now: new Date(at.getTime() + 301_000) }),
    ).toMatchObject({
      reason: "timestamp_out_of_window",
    });
    expect(
      await verifyWebhook(secret, headers, body, { now: new Date(at.getTime() - 301_000) }),
    ).toMatchObject({
      reason: "timestamp_out_of_window",
    });
    // A timestamp changed to a fresh one breaks the signature.
    expect(
      await verifyWebhook(secret, { ...headers, "webhook-timestamp": "1740794700" }, body, {
        now: new Date(1740794700 * 1000),
      }),
    ).toMatchObject({ reason: "bad_signature" });
    expect(await verifyWebhook(secret, { "webhook-id": "msg_2" }, body, { now: at })).toMatchObject({
      reason: "missing_headers",
    });
  });
});

describe("DingTalk's signed URL", () => {
  it("appends timestamp and the URL-encoded base64 HMAC-SHA256 of timestamp\\nsecret", async () => {
    const secret = "SEC1234567890abcdef1234567890abcdef";
    const ts = 1740794400123;
    const url = await dingtalkSignedUrl("https://oapi.dingtalk.com/robot/send?access_token=abc", secret, ts);
    const expected = encodeURIComponent(
      createHmac("sha256", secret).update(`${ts}\n${secret}`).digest("base64"),
    );
    expect(url).toBe(
      `https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=${ts}&sign=${expected}`,
    );
  });
});

describe("WeCom and DingTalk message shapes", () => {
  const n = {
    id: "7b0c6a4e-0000-4000-8000-000000000003",
    type: "ebike_halt_opened" as const,
    payload: HALT,
    occurredAt: NOW,
  };

  it("WeCom: {msgtype: markdown, markdown: {content}} in Chinese, nothing else", async () => {
    const req = await buildRequest(
      n,
      { channel: "wecom", url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", secret: null },
      NOW,
    );
    expect(req.url).toBe("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k");
    const body = JSON.parse(req.body);
    expect(Object.keys(body)).toEqual(["msgtype", "markdown"]);
    expect(body.msgtype).toBe("markdown");
    expect(Object.keys(body.markdown)).toEqual(["content"]);
    expect(body.markdown.content).toContain("电动车进入电梯");
    expect(body.markdown.content).toContain("国伟新苑");
    expect(body.markdown.content).toContain("3号楼电梯");
    // 01:58 UTC is 09:58 in Shanghai.
    expect(body.markdown.content).toContain("2025-03-01 09:58");
  });

  it("DingTalk: {msgtype: markdown, markdown: {title, text}}, signed when it has a secret", async () => {
    const unsigned = await buildRequest(
      n,
      { channel: "dingtalk", url: "https://oapi.dingtalk.com/robot/send?access_token=t", secret: null },
      NOW,
    );
    expect(unsigned.url).toBe("https://oapi.dingtalk.com/robot/send?access_token=t");
    const body = JSON.parse(unsigned.body);
    expect(Object.keys(body)).toEqual(["msgtype", "markdown"]);
    expect(Object.keys(body.markdown)).toEqual(["title", "text"]);
    expect(body.markdown.title).toBe("电动车进入电梯，轿厢已停运");
    expect(body.markdown.text).toContain("国伟新苑");
    const signed = await buildRequest(
      n,
      {
        channel: "dingtalk",
        url: "https://oapi.dingtalk.com/robot/send?access_token=t",
        secret: "SECabcdefabcdefabcdef",
      },
      NOW,
    );
    expect(signed.url).toMatch(new RegExp(`&timestamp=${NOW.getTime()}&sign=[A-Za-z0-9%]+$`));
  });

  it("the webhook body is {id, type, occurredAt, data} with the delivery id", async () => {
    const req = await buildRequest(
      n,
      { channel: "webhook", url: "https://example.com/h", secret: generateWebhookSecret() },
      NOW,
    );
    expect(JSON.parse(req.body)).toEqual({
      id: n.id,
      type: n.type,
      occurredAt: NOW.toISOString(),
      data: HALT,
    });
    expect(req.headers["webhook-id"]).toBe(n.id);
  });

  it("every type renders, even with its payload's fields missing", () => {
    for (const type of NOTIFICATION_TYPES) {
      const empty = renderMessage(type, {});
      expect(empty.title.length, type).toBeGreaterThan(0);
      expect(JSON.stringify(empty), type).not.toContain("undefined");
      expect(renderMessage(type, null).title, type).toBe(empty.title);
    }
    const digest = renderMessage("daily_digest", {
      date: "2025-02-28",
      elevatorsWithEntries: 3,
      halts: 5,
      falseAlarms: 1,
      sensorsOffline: [{ sensorName: "轿厢摄像头", facilityName: "5号楼电梯" }],
    });
    expect(JSON.stringify(digest)).toContain("3 部");
    expect(JSON.stringify(digest)).toContain("5号楼电梯");
  });

  it("a name cannot add lines to the markdown", () => {
    const m = renderMessage("ebike_halt_opened", { ...HALT, communityName: "国伟\n### 假标题" });
    expect(m.lines.every((l) => !l.text.includes("\n"))).toBe(true);
  });
});

describe("delivery rules", () => {
  it("back-off doubles from 10 s with jitter, capped at an hour", () => {
    expect(retryDelayMs(1, 0)).toBe(5_000);
    expect(retryDelayMs(1, 0.999999)).toBeCloseTo(10_000, -1);
    expect(retryDelayMs(3, 0.5)).toBe(30_000);
    expect(retryDelayMs(40, 1)).toBe(3_600_000);
  });

  it("URLs: https, or http to loopback only; reads mask access keys", () => {
    expect(endpointUrlRefusal("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1")).toBeNull();
    expect(endpointUrlRefusal("http://127.0.0.1:8080/hook")).toBeNull();
    expect(endpointUrlRefusal("http://[::1]:8080/hook")).toBeNull();
    expect(endpointUrlRefusal("http://example.com/hook")).toMatch(/https/);
    expect(endpointUrlRefusal("http://10.0.0.1/hook")).toMatch(/https/);
    expect(endpointUrlRefusal("ftp://example.com")).toMatch(/https/);
    expect(endpointUrlRefusal("https://u:p@example.com")).toMatch(/user name/);
    expect(maskUrl("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx")).toBe(
      "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
    );
    expect(maskUrl("https://hooks.example.com/services/T0ABCDEF/B0ABCDEF/XXXXXXXXXXXXXXXXXXXXXXXX")).toBe(
      "https://hooks.example.com/services/T0ABCDEF/B0ABCDEF/***",
    );
  });
});
