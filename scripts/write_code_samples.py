#!/usr/bin/env python3
"""Writes the code-domain sample files the project ships (standard library only).

- examples/data/livecodebench-sample.jsonl: 20 problems in LiveCodeBench's
  layout (code_generation_lite): 12 stdin problems and 8 functional ones
  (LeetCode style, `class Solution`), difficulties easy/medium/hard. Public
  tests are a JSON string; private tests are compressed the way
  LiveCodeBench publishes them (base64 of zlib of a pickled JSON string) on
  every other problem and plain JSON on the rest.
- examples/data/responses/code-sample.jsonl: responses (reference solutions,
  wrong solutions, other formats) labelled with the verdict
  LiveCodeBench's checker gives them: {"id", "response", "expected", "note"}.
- examples/data/code-train.jsonl: 40 easy problems in the plain layout
  ({"id", "prompt", "tests": [{"input", "output"}]}, some with "fn_name"), a
  training file for domain RL on tiny models.
- examples/data/responses/reference/code.jsonl: an offline "model" for the
  evaluate stage: two samples per problem (the reference, then a wrong one on
  some problems), so pass@1 and pass@2 differ.

Expected outputs are produced by running the reference solutions, so the
file is consistent by construction. Deterministic: run it again and the
files are byte-identical.

    python3 scripts/write_code_samples.py
"""

import base64
import json
import os
import pickle
import random
import subprocess
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "examples", "data")

STDIN = [
    # (id, title, difficulty, statement, reference, wrong, input generator)
    ("lcb-s01", "Sum of Two", "easy",
     "Read two integers A and B on one line and print A + B.",
     "a, b = map(int, input().split())\nprint(a + b)",
     "a, b = map(int, input().split())\nprint(a - b if a > 50 else a + b)",
     lambda r: "%d %d\n" % (r.randint(-100, 100), r.randint(-100, 100))),
    ("lcb-s02", "Array Sum", "easy",
     "The first line has N. The second line has N integers. Print their sum.",
     "n = int(input())\nprint(sum(map(int, input().split())))",
     "n = int(input())\na = list(map(int, input().split()))\nprint(sum(a[:-1]) if n > 3 else sum(a))",
     lambda r: (lambda a: "%d\n%s\n" % (len(a), " ".join(map(str, a))))([r.randint(-1000, 1000) for _ in range(r.randint(1, 8))])),
    ("lcb-s03", "Reverse", "easy",
     "Read a string S and print it reversed.",
     "print(input()[::-1])",
     "s = input()\nprint(s[::-1] if len(s) % 2 == 0 else s)",
     lambda r: "".join(r.choice("abcxyz") for _ in range(r.randint(1, 9))) + "\n"),
    ("lcb-s04", "Vowels", "easy",
     "Read a lowercase string and print how many vowels (a, e, i, o, u) it has.",
     "print(sum(c in 'aeiou' for c in input()))",
     "print(sum(c in 'aeio' for c in input()))",
     lambda r: "".join(r.choice("abeiouxyz") for _ in range(r.randint(1, 12))) + "\n"),
    ("lcb-s05", "Fibonacci Modulo", "medium",
     "Read N (1 <= N <= 10^5) and print the N-th Fibonacci number (F1 = F2 = 1) modulo 998244353.",
     "n = int(input())\na, b = 0, 1\nfor _ in range(n):\n    a, b = b, (a + b) % 998244353\nprint(a)",
     "n = int(input())\na, b = 0, 1\nfor _ in range(n):\n    a, b = b, (a + b) % 1000000007\nprint(a)",
     lambda r: "%d\n" % r.choice([1, 2, 3, 10, 50, 90, 1000, 99999])),
    ("lcb-s06", "Average", "medium",
     "The first line has N, the second N integers. Print their average; answers within 1e-6 are not required, print it exactly with 6 digits after the point.",
     "n = int(input())\na = list(map(int, input().split()))\nprint('%.6f' % (sum(a) / n))",
     "n = int(input())\na = list(map(int, input().split()))\nprint('%.2f' % (sum(a) / n))",
     lambda r: (lambda a: "%d\n%s\n" % (len(a), " ".join(map(str, a))))([r.randint(0, 100) for _ in range(r.choice([3, 6, 7]))])),
    ("lcb-s07", "Maximum Subarray", "medium",
     "The first line has N, the second N integers. Print the largest sum of a non-empty contiguous subarray.",
     "n = int(input())\na = list(map(int, input().split()))\nbest = cur = a[0]\nfor x in a[1:]:\n    cur = max(x, cur + x)\n    best = max(best, cur)\nprint(best)",
     "n = int(input())\na = list(map(int, input().split()))\nbest = cur = 0\nfor x in a:\n    cur = max(0, cur + x)\n    best = max(best, cur)\nprint(best)",
     lambda r: (lambda a: "%d\n%s\n" % (len(a), " ".join(map(str, a))))([r.randint(-20, 4) for _ in range(r.randint(1, 5))])),
    ("lcb-s08", "GCD and LCM", "easy",
     "Read two positive integers and print their GCD and LCM separated by a space.",
     "import math\na, b = map(int, input().split())\ng = math.gcd(a, b)\nprint(g, a * b // g)",
     "import math\na, b = map(int, input().split())\nprint(math.gcd(a, b), a * b)",
     lambda r: "%d %d\n" % (r.randint(1, 60), r.randint(1, 60))),
    ("lcb-s09", "Palindrome", "easy",
     "Read a string and print Yes if it is a palindrome, No otherwise.",
     "s = input().strip()\nprint('Yes' if s == s[::-1] else 'No')",
     "s = input().strip()\nprint('Yes' if s[0] == s[-1] else 'No')",
     lambda r: r.choice(["aba", "abca", "racecar", "ab", "a", "abcba", "abccba", "aab", "xyzx"]) + "\n"),
    ("lcb-s10", "Sort", "easy",
     "The first line has N, the second N integers. Print them in non-decreasing order, one line, separated by spaces.",
     "n = int(input())\nprint(*sorted(map(int, input().split())))",
     "n = int(input())\nprint(*sorted(input().split()))",
     lambda r: (lambda a: "%d\n%s\n" % (len(a), " ".join(map(str, a))))([r.randint(-30, 30) for _ in range(r.randint(2, 8))])),
    ("lcb-s11", "Longest Increasing Subsequence", "hard",
     "The first line has N, the second N integers. Print the length of the longest strictly increasing subsequence.",
     "import bisect\nn = int(input())\ntails = []\nfor x in map(int, input().split()):\n    i = bisect.bisect_left(tails, x)\n    if i == len(tails):\n        tails.append(x)\n    else:\n        tails[i] = x\nprint(len(tails))",
     "import bisect\nn = int(input())\ntails = []\nfor x in map(int, input().split()):\n    i = bisect.bisect_right(tails, x)\n    if i == len(tails):\n        tails.append(x)\n    else:\n        tails[i] = x\nprint(len(tails))",
     lambda r: (lambda a: "%d\n%s\n" % (len(a), " ".join(map(str, a))))([r.randint(1, 6) for _ in range(r.randint(3, 10))])),
    ("lcb-s12", "Distinct Values", "easy",
     "Read T test cases. Each has N and then N integers on the next line. For each, print the number of distinct values on its own line.",
     "t = int(input())\nfor _ in range(t):\n    input()\n    print(len(set(input().split())))",
     "t = int(input())\nfor _ in range(t):\n    input()\n    print(len(set(input().split())))\n    break",
     lambda r: (lambda cases: "%d\n%s" % (len(cases), "".join("%d\n%s\n" % (len(c), " ".join(map(str, c))) for c in cases)))([[r.randint(1, 5) for _ in range(r.randint(1, 6))] for _ in range(r.randint(1, 3))])),
]

FUNCTIONAL = [
    # (id, title, difficulty, statement, starter, func, reference, wrong, args generator)
    ("lcb-f01", "Two Sum", "easy",
     "Given an integer array nums and an integer target, return the indices of the two numbers that add up to target, in increasing order. Exactly one answer exists.",
     "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
     "twoSum",
     "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n        return []",
     "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        for i in range(len(nums)):\n            for j in range(len(nums)):\n                if i != j and nums[i] + nums[j] == target:\n                    return [j, i]\n        return []",
     lambda r: (lambda n: (lambda nums, i, j: [nums, nums[i] + nums[j]])(r.sample(range(-50, 50), n), *sorted(r.sample(range(n), 2))))(r.randint(2, 7))),
    ("lcb-f02", "Palindrome Number", "easy",
     "Given an integer x, return true if x is a palindrome.",
     "class Solution:\n    def isPalindrome(self, x: int) -> bool:\n        ",
     "isPalindrome",
     "class Solution:\n    def isPalindrome(self, x: int) -> bool:\n        return str(x) == str(x)[::-1]",
     "class Solution:\n    def isPalindrome(self, x: int) -> bool:\n        return str(abs(x)) == str(abs(x))[::-1]",
     lambda r: [r.choice([121, -121, 10, 0, 1221, 12321, 123, -7, 7])]),
    ("lcb-f03", "Best Time to Buy and Sell Stock", "easy",
     "Given prices, return the maximum profit of one buy followed by one sell (0 if none).",
     "class Solution:\n    def maxProfit(self, prices: List[int]) -> int:\n        ",
     "maxProfit",
     "class Solution:\n    def maxProfit(self, prices: List[int]) -> int:\n        low, best = float('inf'), 0\n        for p in prices:\n            low = min(low, p)\n            best = max(best, p - low)\n        return best",
     "class Solution:\n    def maxProfit(self, prices: List[int]) -> int:\n        return max(prices) - min(prices)",
     lambda r: [[r.randint(1, 20) for _ in range(r.randint(1, 8))]]),
    ("lcb-f04", "Climbing Stairs", "easy",
     "Climbing n steps, 1 or 2 at a time: return the number of distinct ways.",
     "class Solution:\n    def climbStairs(self, n: int) -> int:\n        ",
     "climbStairs",
     "class Solution:\n    def climbStairs(self, n: int) -> int:\n        a, b = 1, 1\n        for _ in range(n):\n            a, b = b, a + b\n        return a",
     "class Solution:\n    def climbStairs(self, n: int) -> int:\n        return n if n <= 3 else 2 * self.climbStairs(n - 1) - 1",
     lambda r: [r.randint(1, 45)]),
    ("lcb-f05", "Longest Substring Without Repeating Characters", "medium",
     "Given a string s, return the length of the longest substring without repeating characters.",
     "class Solution:\n    def lengthOfLongestSubstring(self, s: str) -> int:\n        ",
     "lengthOfLongestSubstring",
     "class Solution:\n    def lengthOfLongestSubstring(self, s: str) -> int:\n        last, start, best = {}, 0, 0\n        for i, c in enumerate(s):\n            if last.get(c, -1) >= start:\n                start = last[c] + 1\n            last[c] = i\n            best = max(best, i - start + 1)\n        return best",
     "class Solution:\n    def lengthOfLongestSubstring(self, s: str) -> int:\n        return len(set(s))",
     lambda r: ["".join(r.choice("abcd") for _ in range(r.randint(0, 10)))]),
    ("lcb-f06", "Coin Change", "medium",
     "Given coins and an amount, return the fewest coins that make the amount, or -1.",
     "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n        ",
     "coinChange",
     "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n        INF = amount + 1\n        dp = [0] + [INF] * amount\n        for a in range(1, amount + 1):\n            for c in coins:\n                if c <= a:\n                    dp[a] = min(dp[a], dp[a - c] + 1)\n        return dp[amount] if dp[amount] < INF else -1",
     "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n        n = 0\n        for c in sorted(coins, reverse=True):\n            n += amount // c\n            amount %= c\n        return n if amount == 0 else -1",
     lambda r: [r.choice([[1, 3, 4], [2], [1, 2, 5], [3, 7], [1, 5, 6, 9]]), r.randint(0, 30)]),
    ("lcb-f07", "Median of Two Sorted Arrays", "hard",
     "Given two sorted arrays, return the median of all their elements as a float.",
     "class Solution:\n    def findMedianSortedArrays(self, nums1: List[int], nums2: List[int]) -> float:\n        ",
     "findMedianSortedArrays",
     "class Solution:\n    def findMedianSortedArrays(self, nums1: List[int], nums2: List[int]) -> float:\n        a = sorted(nums1 + nums2)\n        n = len(a)\n        return float(a[n // 2]) if n % 2 else (a[n // 2 - 1] + a[n // 2]) / 2",
     "class Solution:\n    def findMedianSortedArrays(self, nums1: List[int], nums2: List[int]) -> float:\n        a = sorted(nums1 + nums2)\n        return float(a[len(a) // 2])",
     lambda r: [sorted(r.randint(0, 20) for _ in range(r.randint(1, 4))), sorted(r.randint(0, 20) for _ in range(r.randint(0, 4)))]),
    ("lcb-f08", "Product of Array Except Self", "medium",
     "Return an array whose i-th element is the product of all elements of nums except nums[i].",
     "class Solution:\n    def productExceptSelf(self, nums: List[int]) -> List[int]:\n        ",
     "productExceptSelf",
     "class Solution:\n    def productExceptSelf(self, nums: List[int]) -> List[int]:\n        n = len(nums)\n        out = [1] * n\n        p = 1\n        for i in range(n):\n            out[i] = p\n            p *= nums[i]\n        p = 1\n        for i in range(n - 1, -1, -1):\n            out[i] *= p\n            p *= nums[i]\n        return out",
     "class Solution:\n    def productExceptSelf(self, nums: List[int]) -> List[int]:\n        total = 1\n        for x in nums:\n            total *= x\n        return [total // x if x else 0 for x in nums]",
     lambda r: [[r.randint(-3, 4) for _ in range(r.randint(2, 6))]]),
]

PRELUDE = "from typing import *\n"


def run_stdin(code, text):
    out = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise SystemExit("reference failed: %s\n%s" % (code, out.stderr))
    return out.stdout


def run_call(code, func, args):
    g = {}
    exec(PRELUDE + code, g)
    result = getattr(g["Solution"](), func)(*args)
    return list(result) if isinstance(result, tuple) else result


def compress(cases):
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()


def fenced(code, lang="python"):
    return "```%s\n%s\n```" % (lang, code)


def main():
    r = random.Random(20250519)
    rows, responses, reference = [], [], []
    for k, (qid, title, diff, statement, ref, wrong, gen) in enumerate(STDIN):
        inputs = []
        while len(inputs) < 8:
            t = gen(r)
            if t not in inputs:
                inputs.append(t)
        cases = [{"input": t, "output": run_stdin(ref, t), "testtype": "stdin"} for t in inputs]
        assert any(run_stdin(wrong, c["input"]).strip() != c["output"].strip() for c in cases), qid
        public, private = cases[:2], cases[2:]
        rows.append({
            "question_title": title,
            "question_content": statement + "\n\nExample input:\n" + public[0]["input"] + "\nExample output:\n" + public[0]["output"],
            "platform": "atcoder",
            "question_id": qid,
            "contest_id": "sample",
            "contest_date": "2025-01-01T00:00:00",
            "starter_code": "",
            "difficulty": diff,
            "public_test_cases": json.dumps(public),
            "private_test_cases": compress(private) if k % 2 == 0 else json.dumps(private),
            "metadata": "{}",
        })
        responses.append((qid, ref, wrong))
    for k, (qid, title, diff, statement, starter, func, ref, wrong, gen) in enumerate(FUNCTIONAL):
        args_list = []
        while len(args_list) < 8:
            a = gen(r)
            if a not in args_list:
                args_list.append(a)
        cases = [{
            "input": "\n".join(json.dumps(a) for a in args),
            "output": json.dumps(run_call(ref, func, args)),
            "testtype": "functional",
        } for args in args_list]
        assert any(run_call(wrong, func, a) != run_call(ref, func, a) for a in args_list), qid
        public, private = cases[:2], cases[2:]
        rows.append({
            "question_title": title,
            "question_content": statement,
            "platform": "leetcode",
            "question_id": qid,
            "contest_id": "sample",
            "contest_date": "2025-01-01T00:00:00",
            "starter_code": starter,
            "difficulty": diff,
            "public_test_cases": json.dumps(public),
            "private_test_cases": compress(private) if k % 2 == 0 else json.dumps(private),
            "metadata": json.dumps({"func_name": func}),
        })
        responses.append((qid, ref, wrong))

    labelled = []
    for n, (qid, ref, wrong) in enumerate(responses):
        labelled.append({"id": qid, "response": "Here is my solution.\n\n" + fenced(ref), "expected": "correct", "note": "reference"})
        labelled.append({"id": qid, "response": fenced(wrong), "expected": "wrong", "note": "wrong solution"})
        if n % 5 == 0:
            labelled.append({"id": qid, "response": "A draft:\n" + fenced("print(0)") + "\nFinal:\n" + fenced(ref, "py"), "expected": "correct", "note": "last block counts"})
        if n % 5 == 1:
            labelled.append({"id": qid, "response": fenced("int main() { return 0; }", "cpp"), "expected": "wrong", "note": "another language"})
        if n % 5 == 2:
            labelled.append({"id": qid, "response": "I would loop over the input and print the answer.", "expected": "unparseable", "note": "no code block"})
        if n % 5 == 3:
            labelled.append({"id": qid, "response": fenced(ref + "\n)"), "expected": "wrong", "note": "syntax error"})
        reference.append({"id": qid, "response": fenced(wrong if n % 3 == 0 else ref)})
    for n, (qid, ref, wrong) in enumerate(responses):
        reference.append({"id": qid, "response": fenced(ref)})

    def dump(path, items):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")

    train = []
    for n in range(40):
        k = r.randint(1, 9)
        if n % 4 == 3:
            cases = [{"input": [x], "output": x * k} for x in r.sample(range(-20, 20), 4)]
            train.append({"id": "train-%02d" % n, "prompt": "Write a function times(x) that returns x times %d." % k,
                          "fn_name": "times", "tests": cases, "difficulty": "easy"})
        else:
            cases = []
            for x in r.sample(range(-50, 50), 4):
                cases.append({"input": "%d\n" % x, "output": "%d\n" % (x + k)})
            train.append({"id": "train-%02d" % n, "prompt": "Read an integer from stdin and print it plus %d." % k,
                          "tests": cases, "difficulty": "easy"})

    dump(os.path.join(DATA, "livecodebench-sample.jsonl"), rows)
    dump(os.path.join(DATA, "code-train.jsonl"), train)
    dump(os.path.join(DATA, "responses", "code-sample.jsonl"), labelled)
    dump(os.path.join(DATA, "responses", "reference", "code.jsonl"), reference)
    print("wrote %d problems, %d labelled responses, %d reference responses" % (len(rows), len(labelled), len(reference)))


if __name__ == "__main__":
    main()
