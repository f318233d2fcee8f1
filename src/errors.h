/*
 * errors.h
 *		The SQLSTATEs of credit_ledger: class LD, one code per refusal a
 *		caller can branch on (see README, "Errors").
 */
#ifndef CREDIT_LEDGER_ERRORS_H
#define CREDIT_LEDGER_ERRORS_H

#include "utils/elog.h"

#define ERRCODE_LD_INSUFFICIENT_CREDIT	MAKE_SQLSTATE('L','D','0','0','1')
#define ERRCODE_LD_ACCOUNT_NOT_FOUND	MAKE_SQLSTATE('L','D','0','0','2')
#define ERRCODE_LD_ACCOUNT_NOT_ACTIVE	MAKE_SQLSTATE('L','D','0','0','3')
#define ERRCODE_LD_EVENT_CONFLICT		MAKE_SQLSTATE('L','D','0','0','4')
#define ERRCODE_LD_HOLD_NOT_PENDING		MAKE_SQLSTATE('L','D','0','0','5')
#define ERRCODE_LD_HOLD_NOT_FOUND		MAKE_SQLSTATE('L','D','0','0','6')
#define ERRCODE_LD_NO_PRICE_RULE		MAKE_SQLSTATE('L','D','0','0','7')
#define ERRCODE_LD_REFUND_EXCEEDS		MAKE_SQLSTATE('L','D','0','0','8')
#define ERRCODE_LD_TOO_MANY_HOLDS		MAKE_SQLSTATE('L','D','0','1','0')
#define ERRCODE_LD_SPEND_LIMIT			MAKE_SQLSTATE('L','D','0','0','9')
/* LD011 (an order refused) is raised by the 1.1 script's order functions */

#endif
